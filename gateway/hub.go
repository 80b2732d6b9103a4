package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/gateway/wire"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Hub is a serve node's side of the gateway: the /worker handler, the
// connected workers by zone, and for each zone with workers here a River
// client whose jobs it forwards to them.
type Hub struct {
	Store  *Store
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Worker prepares requests (definition and the credentials the check
	// uses) and hands results back, as for a local worker.
	Worker *jobs.ExecuteWorker
	// Node names this node in the zones listing.
	Node string
	// RescueAfter, FetchCooldown and FetchPollInterval tune the zone
	// clients as jobs.WorkerConfig does.
	RescueAfter                      time.Duration
	FetchCooldown, FetchPollInterval time.Duration
	// MaxInFlight bounds the jobs one node leases for one zone (default 200).
	MaxInFlight int
	// LostGrace is how long a job sent to a worker whose link dropped waits,
	// past the check's timeout, for its result to be resent before it is
	// given to another worker (default 10s).
	LostGrace time.Duration

	mu       sync.Mutex
	zones    map[string]*zone // by queue
	wg       sync.WaitGroup
	upgOnce  sync.Once
	upgrader *websocket.Upgrader
}

// RevalidateEvery is how often a node checks its connections' keys besides
// when a revocation is announced on KeysChannel: a revoked key's
// connections close at once, or within this if the notification is lost.
const RevalidateEvery = 2 * time.Second

type zone struct {
	scope    Scope // KeyID unset
	sessions map[*session]struct{}
	pending  map[int64]*pendingJob
	changed  chan struct{} // closed and replaced when a slot frees or a session arrives
	client   *river.Client[pgx.Tx]
	idleStop *time.Timer
}

type pendingJob struct {
	sess   *session
	result chan delivered
}

type delivered struct {
	res  *checks.Result
	from *session
}

type session struct {
	id     uuid.UUID
	scope  Scope
	hello  wire.Hello
	addr   string // the worker's address as this node sees it
	conn   *websocket.Conn
	send   chan []byte
	busy   int // guarded by Hub.mu
	closed chan struct{}
	once   sync.Once
	log    *slog.Logger
}

func (s *session) close() { s.once.Do(func() { close(s.closed); _ = s.conn.Close() }) }

func (s *session) offers(engine string) bool { return slices.Contains(s.hello.Engines, engine) }

// write queues one message; false when the session is gone or its queue full.
func (s *session) write(m *wire.Message) bool {
	b, err := wire.Encode(m)
	if err != nil {
		s.log.Error("encoding gateway message", slog.Any("error", err))
		return false
	}
	select {
	case s.send <- b:
		return true
	case <-s.closed:
		return false
	}
}

// newUpgrader keeps idle connections small: 4 KiB read buffers, and write
// buffers taken from a pool only while a message is written.
func newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10, WriteBufferPool: &sync.Pool{}}
}

// ServeHTTP accepts a remote worker on /worker. The key comes in the
// Authorization header (Bearer); the zone is the key's.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		http.Error(w, "a worker key is required (Authorization: Bearer <key>)", http.StatusUnauthorized)
		return
	}
	scope, err := h.Store.Authenticate(r.Context(), key)
	if err != nil {
		if errors.Is(err, ErrBadKey) {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		h.Logger.ErrorContext(r.Context(), "worker authentication failed", slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.upgOnce.Do(func() { h.upgrader = newUpgrader() })
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(wire.MaxMessage)
	s := &session{id: uuid.New(), scope: scope, addr: remoteHost(r.RemoteAddr), conn: conn, send: make(chan []byte, 64), closed: make(chan struct{})}
	s.log = h.Logger.With(slog.String("zone", scope.Zone), slog.String("connection", s.id.String()))
	if scope.Site != uuid.Nil {
		s.log = s.log.With(slog.String("site", scope.Site.String()))
	}
	h.serve(r.Context(), s)
}

func (h *Hub) serve(ctx context.Context, s *session) {
	defer s.close()
	_ = s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := s.conn.ReadMessage()
	if err != nil {
		return
	}
	m, err := wire.Decode(data)
	if err == nil && m.Type != wire.TypeHello {
		err = fmt.Errorf("first message is %s, want hello", m.Type)
	}
	if err != nil {
		b, _ := wire.Encode(&wire.Message{Type: wire.TypeError, Error: err.Error()})
		_ = s.conn.WriteMessage(websocket.TextMessage, b)
		return
	}
	s.hello = *m.Hello
	s.log = s.log.With(slog.String("worker", s.hello.Name))
	go h.writeLoop(s)
	s.write(&wire.Message{Type: wire.TypeWelcome, Welcome: &wire.Welcome{Zone: s.scope.Zone, Shared: s.scope.Shared, Node: h.Node}})
	if err := h.register(ctx, s); err != nil {
		s.log.ErrorContext(ctx, "registering remote worker", slog.Any("error", err))
		return
	}
	defer h.unregister(s)
	s.log.InfoContext(ctx, "remote worker connected", slog.String("version", s.hello.Version), slog.Any("engines", s.hello.Engines))
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.log.InfoContext(ctx, "remote worker disconnected", slog.String("reason", err.Error()))
			return
		}
		m, err := wire.Decode(data)
		if err != nil {
			s.log.WarnContext(ctx, "bad message from remote worker", slog.Any("error", err))
			s.write(&wire.Message{Type: wire.TypeError, Error: err.Error()})
			return
		}
		switch m.Type {
		case wire.TypeResult:
			h.deliver(ctx, s, m.Result)
		case wire.TypePing:
			s.write(&wire.Message{Type: wire.TypePong})
		case wire.TypePong:
		default:
			s.log.WarnContext(ctx, "unexpected message from remote worker", slog.String("type", m.Type))
		}
	}
}

func (h *Hub) writeLoop(s *session) {
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	pingMsg, _ := wire.Encode(&wire.Message{Type: wire.TypePing})
	for {
		var b []byte
		select {
		case <-s.closed:
			return
		case b = <-s.send:
		case <-ping.C:
			b = pingMsg
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
			s.close()
			return
		}
	}
}

// deliver hands a result to the job's forwarder on this node, or, when none
// waits for it (the worker reconnected here after the link broke), writes it
// directly; either way the worker gets an ack once it is written.
func (h *Hub) deliver(ctx context.Context, s *session, r *wire.Result) {
	h.mu.Lock()
	z := h.zones[s.scope.Queue()]
	var p *pendingJob
	if z != nil {
		p = z.pending[r.JobID]
	}
	h.mu.Unlock()
	if p != nil {
		select {
		case p.result <- delivered{res: r.Result, from: s}:
		default: // a copy is already on its way
		}
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		r.Result.Worker = s.hello.Name
		applied, err := jobs.HandBackByID(ctx, h.Pool, r.JobID, []string{s.scope.Queue()}, r.Result)
		if err != nil {
			s.log.ErrorContext(ctx, "handing back a resent result", slog.Int64("job", r.JobID), slog.Any("error", err))
			return
		}
		s.log.DebugContext(ctx, "resent result", slog.Int64("job", r.JobID), slog.Bool("applied", applied))
		s.write(&wire.Message{Type: wire.TypeAck, Ack: &wire.Ack{JobIDs: []int64{r.JobID}}})
	}()
}

func (h *Hub) register(ctx context.Context, s *session) error {
	if err := h.recordConnect(ctx, s); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.zones == nil {
		h.zones = map[string]*zone{}
	}
	q := s.scope.Queue()
	z := h.zones[q]
	if z == nil {
		sc := s.scope
		sc.KeyID = uuid.Nil
		z = &zone{scope: sc, sessions: map[*session]struct{}{}, pending: map[int64]*pendingJob{}, changed: make(chan struct{})}
		h.zones[q] = z
	}
	z.sessions[s] = struct{}{}
	if z.idleStop != nil {
		z.idleStop.Stop()
		z.idleStop = nil
	}
	if z.client == nil {
		c, err := h.newZoneClient(z)
		if err != nil {
			delete(z.sessions, s)
			return err
		}
		if err := c.Start(context.WithoutCancel(ctx)); err != nil {
			delete(z.sessions, s)
			return fmt.Errorf("starting zone %s: %w", q, err)
		}
		z.client = c
	}
	z.signal()
	return nil
}

func (z *zone) signal() {
	close(z.changed)
	z.changed = make(chan struct{})
}

func (h *Hub) unregister(s *session) {
	h.mu.Lock()
	z := h.zones[s.scope.Queue()]
	if z != nil {
		delete(z.sessions, s)
		z.signal()
		if len(z.sessions) == 0 && z.client != nil && z.idleStop == nil {
			// Stop leasing the zone's jobs here once no worker of it is
			// left: they then wait in the queue for another node's worker,
			// or for the watchdog.
			c := z.client
			z.idleStop = time.AfterFunc(cmp.Or(h.LostGrace, 10*time.Second), func() {
				h.mu.Lock()
				if len(z.sessions) > 0 || z.client != c {
					h.mu.Unlock()
					return
				}
				z.client, z.idleStop = nil, nil
				h.mu.Unlock()
				sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_ = c.Stop(sctx)
			})
		}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.recordDisconnect(ctx, s); err != nil {
		s.log.WarnContext(ctx, "recording remote worker disconnect", slog.Any("error", err))
	}
}

func (h *Hub) newZoneClient(z *zone) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &forwarder{hub: h, queue: z.scope.Queue()}); err != nil {
		return nil, err
	}
	riverclient.KnowAll(workers)
	jobTimeout, rescue := jobs.JobTimeout, jobs.JobTimeout+time.Minute
	if h.RescueAfter > 0 {
		jobTimeout, rescue = h.RescueAfter, h.RescueAfter
	}
	return river.NewClient(riverclient.NewDriver(h.Pool), &river.Config{
		Logger:                      riverclient.Logger(h.Logger),
		Queues:                      map[string]river.QueueConfig{z.scope.Queue(): {MaxWorkers: cmp.Or(h.MaxInFlight, 200)}},
		Workers:                     workers,
		FetchCooldown:               cmp.Or(h.FetchCooldown, 10*time.Millisecond),
		FetchPollInterval:           cmp.Or(h.FetchPollInterval, 250*time.Millisecond),
		JobTimeout:                  jobTimeout,
		RescueStuckJobsAfter:        rescue,
		CompletedJobRetentionPeriod: time.Minute,
		ReindexerIndexNames:         riverclient.NoReindex,
	})
}

// Run revalidates keys and keeps presence rows fresh until ctx ends, then
// closes every connection and stops the zone clients.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(RevalidateEvery)
	defer t.Stop()
	revoked := jobs.Wakeup(ctx, h.Pool, KeysChannel, h.Logger)
	for i := 0; ; {
		beat := false
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case <-revoked:
		case <-t.C:
			beat = i%5 == 0
			i++
		}
		if err := h.revalidate(ctx, beat); err != nil && ctx.Err() == nil {
			h.Logger.WarnContext(ctx, "revalidating worker keys", slog.Any("error", err))
		}
	}
}

func (h *Hub) sessions() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*session
	for _, z := range h.zones {
		for s := range z.sessions {
			out = append(out, s)
		}
	}
	return out
}

// revalidate closes the connections whose key was revoked; with beat it
// also marks the others seen.
func (h *Hub) revalidate(ctx context.Context, beat bool) error {
	bySite := map[uuid.UUID][]*session{}
	for _, s := range h.sessions() {
		bySite[s.scope.Site] = append(bySite[s.scope.Site], s)
	}
	var firstErr error
	for site, ss := range bySite {
		keys := make([]uuid.UUID, 0, len(ss))
		for _, s := range ss {
			keys = append(keys, s.scope.KeyID)
		}
		live, err := h.Store.stillValid(ctx, site, keys)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		var alive []*session
		for _, s := range ss {
			if !live[s.scope.KeyID] {
				s.log.InfoContext(ctx, "closing remote worker: its key was revoked")
				s.write(&wire.Message{Type: wire.TypeError, Error: "worker key revoked"})
				time.AfterFunc(200*time.Millisecond, s.close)
				continue
			}
			alive = append(alive, s)
		}
		if beat && len(alive) > 0 {
			if err := h.touch(ctx, site, alive); err != nil {
				firstErr = cmp.Or(firstErr, err)
			}
		}
	}
	return firstErr
}

func (h *Hub) shutdown() {
	for _, s := range h.sessions() {
		s.close()
	}
	h.mu.Lock()
	var clients []*river.Client[pgx.Tx]
	for _, z := range h.zones {
		if z.client != nil {
			clients = append(clients, z.client)
			z.client = nil
		}
		if z.idleStop != nil {
			z.idleStop.Stop()
		}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, c := range clients {
		_ = c.Stop(ctx)
	}
	h.wg.Wait()
}

// Presence: a private zone's connections in worker_connections (tenant
// data), a shared zone's in workers beside the direct workers.

func (h *Hub) recordConnect(ctx context.Context, s *session) error {
	hl := s.hello
	w := store.RemoteWorker{ID: s.id, Site: s.scope.Site, Key: s.scope.KeyID, Zone: s.scope.Zone, Name: hl.Name, Version: hl.Version,
		Engines: hl.Engines, Node: h.Node, Address: s.addr}
	if s.scope.Shared {
		return store.RecordSharedConnect(ctx, h.Pool, w)
	}
	return tenants.InSite(tenants.WithSite(ctx, s.scope.Site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.RecordConnect(ctx, tx, w)
	})
}

func (h *Hub) recordDisconnect(ctx context.Context, s *session) error {
	if s.scope.Shared {
		return store.RecordSharedDisconnect(ctx, h.Pool, s.id)
	}
	return tenants.InSite(tenants.WithSite(ctx, s.scope.Site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.RecordDisconnect(ctx, tx, s.id)
	})
}

// touch marks the sessions seen and records the checks each is running.
func (h *Hub) touch(ctx context.Context, site uuid.UUID, ss []*session) error {
	ids := make([]uuid.UUID, len(ss))
	busy := make([]int32, len(ss))
	h.mu.Lock()
	for i, s := range ss {
		ids[i], busy[i] = s.id, int32(s.busy)
	}
	h.mu.Unlock()
	if site == uuid.Nil {
		return store.TouchConnections(ctx, h.Pool, true, ids, busy)
	}
	return tenants.InSite(tenants.WithSite(ctx, site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.TouchConnections(ctx, tx, false, ids, busy)
	})
}

// remoteHost is the host part of an http.Request's RemoteAddr.
func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
