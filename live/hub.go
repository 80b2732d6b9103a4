// Package live fans check changes out to GraphQL subscribers. Every serve
// node holds one LISTEN connection on the checks channel; notifications
// carry ids only, and the hub re-reads the checks under each subscriber's
// site (row-level security) before pushing them. After a dropped
// connection it re-reads everything changed meanwhile, so no update is lost
// silently.
package live

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
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
	// last is each followed check's state as last pushed, for Previous.
	last map[uuid.UUID]lastState
}

type lastState struct {
	site  uuid.UUID
	state *store.CheckState
}

// NewHub returns a hub; call Run to start listening.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{Pool: pool, Logger: log, subs: map[uuid.UUID]map[*Subscriber]struct{}{}, last: map[uuid.UUID]lastState{}}
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
			// Without subscribers the site's changes are not followed:
			// forget its last states rather than keep stale ones.
			for id, l := range h.last {
				if l.site == site {
					delete(h.last, id)
				}
			}
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
	var before map[uuid.UUID]*store.CheckState
	h.mu.Lock()
	var unknown []uuid.UUID
	for _, id := range ids {
		if _, ok := h.last[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	h.mu.Unlock()
	err := tenants.InSite(tenants.WithSite(ctx, site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if rows, err = store.ChecksByID(ctx, tx, ids); err != nil {
			return err
		}
		if alerts, err = store.AlertsForChecks(ctx, tx, ids); err != nil {
			return err
		}
		before, err = previousStates(ctx, tx, unknown)
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
		prev := before[id]
		if l, ok := h.last[id]; ok {
			prev = l.state
		} else if prev == nil {
			prev = r.State // no change recorded by the latest result
		}
		u := &Update{Check: r, Previous: prev, Alerts: byCheck[r.ID], At: now}
		if _, followed := h.subs[site]; followed {
			h.last[id] = lastState{site: site, state: r.State}
		}
		for s := range h.subs[site] {
			select {
			case s.C <- u:
			default:
				s.Dropped++
			}
		}
	}
}

// previousStates reconstructs, for checks the hub has not followed yet,
// the state before their latest result from state history: a history row
// at the check's last result means that result changed status or hardness.
// Checks whose latest result changed nothing are left out.
func previousStates(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID]*store.CheckState, error) {
	out := map[uuid.UUID]*store.CheckState{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT h.check_id, h.status, h.previous,
			(SELECT o.hard FROM state_history o WHERE o.check_id = h.check_id AND o.id < h.id ORDER BY o.id DESC LIMIT 1)
		FROM check_state s JOIN LATERAL (SELECT * FROM state_history x WHERE x.check_id = s.check_id ORDER BY x.at DESC, x.id DESC LIMIT 1) h ON true
		WHERE s.check_id = ANY ($1) AND h.at = s.last_check`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading previous states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var status, previous string
		var olderHard *bool
		if err := rows.Scan(&id, &status, &previous, &olderHard); err != nil {
			return nil, fmt.Errorf("reading previous states: %w", err)
		}
		st, _ := checks.ParseStatus(previous)
		// Same status: the result made it hard. Otherwise the state before
		// had the hardness of the change before (a new check starts hard).
		hard := status != previous && (olderHard == nil || *olderHard)
		out[id] = &store.CheckState{Status: st, OK: st.OK(), Hard: hard}
	}
	return out, rows.Err()
}
