// Package live fans check changes out to GraphQL subscribers. Every serve
// node holds one LISTEN connection on the checks channel; notifications
// carry ids only, and the hub re-reads the checks under each subscriber's
// site (row-level security) before pushing them. After a dropped
// connection it re-reads everything changed meanwhile, so no update is lost
// silently.
package live

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Update is one check change as a subscriber sees it.
type Update struct {
	Check    *store.CheckRow
	Previous *store.CheckState
	Alerts   []*store.Alert
	At       time.Time
}

// Subscriber receives updates of one site.
type Subscriber struct {
	site uuid.UUID
	C    chan *Update
	// Dropped counts updates lost because the subscriber was too slow.
	Dropped int
}

// Hub is the node's fan-out.
type Hub struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger

	mu   sync.Mutex
	subs map[uuid.UUID]map[*Subscriber]struct{}
	last map[uuid.UUID]*store.CheckState
}

// NewHub returns a hub; call Run to start listening.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{Pool: pool, Logger: log, subs: map[uuid.UUID]map[*Subscriber]struct{}{}, last: map[uuid.UUID]*store.CheckState{}}
}

// Subscribe registers a subscriber for site until ctx ends.
func (h *Hub) Subscribe(ctx context.Context, site uuid.UUID) *Subscriber {
	s := &Subscriber{site: site, C: make(chan *Update, 4096)}
	h.mu.Lock()
	if h.subs[site] == nil {
		h.subs[site] = map[*Subscriber]struct{}{}
	}
	h.subs[site][s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs[site], s)
		if len(h.subs[site]) == 0 {
			delete(h.subs, site)
		}
		h.mu.Unlock()
	}()
	return s
}

// Subscribers counts the open subscriptions of site on this node.
func (h *Hub) Subscribers(site uuid.UUID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[site])
}

// Run listens until ctx ends, reconnecting after errors.
func (h *Hub) Run(ctx context.Context) error {
	var since time.Time
	for ctx.Err() == nil {
		conn, err := h.Pool.Acquire(ctx)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+store.ChecksChannel); err != nil {
			conn.Release()
			sleep(ctx, time.Second)
			continue
		}
		if !since.IsZero() {
			h.resync(ctx, since)
		}
		for {
			n, err := conn.Conn().WaitForNotification(ctx)
			if err != nil {
				if ctx.Err() == nil {
					h.Logger.WarnContext(ctx, "live updates: lost LISTEN connection; will resync", slog.Any("error", err))
				}
				since = time.Now().Add(-2 * time.Second)
				break
			}
			h.handle(ctx, n.Payload)
		}
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (h *Hub) sites() []uuid.UUID {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]uuid.UUID, 0, len(h.subs))
	for s := range h.subs {
		out = append(out, s)
	}
	return out
}

// resync pushes every check of subscribed sites changed since t.
func (h *Hub) resync(ctx context.Context, t time.Time) {
	for _, site := range h.sites() {
		var ids []uuid.UUID
		err := tenants.InSite(tenants.WithSite(ctx, site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT check_id FROM check_state WHERE updated_at >= $1`, t)
			if err != nil {
				return err
			}
			ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			return err
		})
		if err == nil && len(ids) > 0 {
			h.dispatch(ctx, site, ids)
		}
	}
}

func (h *Hub) handle(ctx context.Context, payload string) {
	siteStr, list, ok := strings.Cut(payload, ":")
	if !ok {
		return
	}
	site, err := uuid.Parse(siteStr)
	if err != nil {
		return
	}
	h.mu.Lock()
	_, any := h.subs[site]
	h.mu.Unlock()
	if !any {
		return
	}
	var ids []uuid.UUID
	for _, s := range strings.Split(list, ",") {
		if id, err := uuid.Parse(s); err == nil {
			ids = append(ids, id)
		}
	}
	h.dispatch(ctx, site, ids)
}

// dispatch re-reads the checks under site and pushes them to its subscribers.
func (h *Hub) dispatch(ctx context.Context, site uuid.UUID, ids []uuid.UUID) {
	var rows []*store.CheckRow
	var alerts []*store.Alert
	err := tenants.InSite(tenants.WithSite(ctx, site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if rows, err = store.ChecksByID(ctx, tx, ids); err != nil {
			return err
		}
		alerts, err = store.AlertsForChecks(ctx, tx, ids)
		return err
	})
	if err != nil {
		h.Logger.WarnContext(ctx, "live updates: re-reading checks failed", slog.Any("error", err))
		return
	}
	byCheck := map[string][]*store.Alert{}
	for _, a := range alerts {
		byCheck[a.CheckID] = append(byCheck[a.CheckID], a)
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range rows {
		id, _ := uuid.Parse(r.ID)
		u := &Update{Check: r, Previous: h.last[id], Alerts: byCheck[r.ID], At: now}
		h.last[id] = r.State
		for s := range h.subs[site] {
			select {
			case s.C <- u:
			default:
				s.Dropped++
			}
		}
	}
}
