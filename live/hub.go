// Package live fans check changes out to GraphQL subscribers. Every serve
// node holds one LISTEN connection on the checks channel; notifications
// carry ids only, and the hub re-reads the checks under each subscriber's
// site (row-level security) before pushing them. After a dropped
// connection it re-reads everything changed meanwhile, so no update is lost
// silently. It also listens on the configuration and membership channels
// and re-reads its subscribers' access (Reloader) when they announce a
// change to their site.
package live

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/live/wire"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Update is one check change as a subscriber sees it.
type Update struct {
	Check    *store.CheckRow
	Previous *store.CheckState
	Alerts   []*store.Alert
	// Parent is the check's host (services, traps) or cluster (resources),
	// re-read with it, or nil; subscribers use it instead of reading it
	// again each.
	Parent *store.CheckRow
	At     time.Time
	// Changed tells whether the update changed what a status view shows
	// of the check (store.SummaryChanged against the state the hub last
	// pushed; for a check it had not followed yet, whether the state's
	// summary changed since the hub began following the site).
	Changed bool
}

// Reloader re-reads what a subscriber may receive: its member's role and
// security domains, which its match consults. The hub calls Reload when the
// subscriber's site announces a configuration apply (store.ConfigChannel:
// grants may have changed) or a membership change (tenants.MembersChannel:
// a role changed, a member removed or disabled), before it fans out any
// change it reads after that announcement. So a check the member may no
// longer read stops reaching them at once, and one newly granted reaches
// them from its next change.
//
// The hub calls Reload once per site with all the site's Reloaders on
// this node (the receiver among them; all of them values of the type the
// subscribing package passes to SubscribeAs), so that the site's access
// is re-read in one round trip however many subscribers it has: Reload
// runs on the hub's dispatcher, and other sites' updates wait while it
// runs. On error it must leave every one of them receiving nothing (the
// hub tries again a second later).
type Reloader interface {
	Reload(ctx context.Context, all []Reloader) error
}

// Subscriber receives updates of one site.
type Subscriber struct {
	site   uuid.UUID
	match  func(*Update) bool
	access Reloader
	keys   []string
	// c receives, per change batch, the updates that match (never empty);
	// read it through Hub.Next.
	c chan []*Update
	// owed holds, once c is full, every later update for s coalesced by
	// check (h.mu guards it): Next hands it over as one batch when c is
	// drained, so a slow subscriber skips intermediate states but never
	// misses a check's latest one. more wakes a waiting Next.
	owed *owed
	more chan struct{}
	// coalesced counts updates merged into a later one of the same check
	// because s fell behind.
	coalesced int
}

// owed is a slow subscriber's backlog: the newest update of each check, in
// order of first appearance, with the Previous of the oldest.
type owed struct {
	order   []string
	updates map[string]*Update
}

// add merges batch into o and returns how many of its updates replaced an
// older one of the same check.
func (o *owed) add(batch []*Update) int {
	merged := 0
	for _, u := range batch {
		old, ok := o.updates[u.Check.ID]
		if !ok {
			o.order = append(o.order, u.Check.ID)
			o.updates[u.Check.ID] = u
			continue
		}
		merged++
		m := *u
		m.Previous = old.Previous
		m.Alerts = mergeAlerts(old.Alerts, u.Alerts)
		m.Changed = old.Changed || u.Changed
		o.updates[u.Check.ID] = &m
	}
	return merged
}

// mergeAlerts is older's alerts updated by newer's (by id), newer's new
// ones appended.
func mergeAlerts(older, newer []*store.Alert) []*store.Alert {
	if len(older) == 0 {
		return newer
	}
	out := slices.Clone(older)
	for _, a := range newer {
		if i := slices.IndexFunc(out, func(b *store.Alert) bool { return b.ID == a.ID }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

func (o *owed) batch() []*Update {
	out := make([]*Update, len(o.order))
	for i, id := range o.order {
		out[i] = o.updates[id]
	}
	return out
}

// Hub is the node's fan-out.
type Hub struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Trace, set only by the latency benchmark (before Run), is told when
	// changes are re-read and fanned out, and by the GraphQL subscriptions
	// when they take them; nil (production) costs nothing.
	Trace lattrace.Tracer

	mu   sync.Mutex
	subs map[uuid.UUID]map[*Subscriber]struct{}
	// keyed indexes subscribers with keys by site and key; the others
	// are in open.
	keyed map[uuid.UUID]map[string]map[*Subscriber]struct{}
	open  map[uuid.UUID]map[*Subscriber]struct{}
	// last is each followed check's state as last pushed, for Previous.
	last map[uuid.UUID]lastState
	// following is when the hub began following each site with
	// subscribers (its first subscriber since it had none).
	following map[uuid.UUID]time.Time
	// pending holds changed check ids per site not yet dispatched; wake
	// tells the dispatcher there are some. Notifications arriving while a
	// batch is re-read are coalesced into the next one.
	pending map[uuid.UUID]map[uuid.UUID]struct{}
	wake    chan struct{}
	// stale holds the sites whose subscribers' access must be reloaded
	// (Reloader) before anything more of theirs is dispatched.
	stale map[uuid.UUID]struct{}
}

type lastState struct {
	site  uuid.UUID
	state *store.CheckState
}

// subscriberBuffer is how many change batches a subscriber may lag behind
// before the hub coalesces its backlog by check. It was 1,024 while a
// full buffer lost batches; the buffers of 1,000 subscriptions then held
// 24 MB of the heap (a third of the benchmark server's), which every
// garbage collection scanned.
const subscriberBuffer = 64

// NewHub returns a hub; call Run to start listening.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{Pool: pool, Logger: log, subs: map[uuid.UUID]map[*Subscriber]struct{}{}, last: map[uuid.UUID]lastState{}, following: map[uuid.UUID]time.Time{},
		keyed: map[uuid.UUID]map[string]map[*Subscriber]struct{}{}, open: map[uuid.UUID]map[*Subscriber]struct{}{},
		pending: map[uuid.UUID]map[uuid.UUID]struct{}{}, wake: make(chan struct{}, 1), stale: map[uuid.UUID]struct{}{}}
}

// IDKey and HostKey name what a subscriber follows, for Subscribe's keys:
// a check by id, or a host with its services and traps (a cluster with its
// resources) by name.
func IDKey(id string) string { return "id:" + id }

// HostKey names a host with its services and traps (a cluster with its
// resources) for Subscribe's keys (see IDKey).
func HostKey(name string) string { return "host:" + name }

// keysOf are the keys an update of r is indexed under.
func keysOf(r *store.CheckRow) [2]string {
	host := r.ParentName
	if r.Kind == store.KindHost {
		host = r.Name
	}
	return [2]string{IDKey(r.ID), HostKey(host)}
}

func addTo[K comparable](m map[K]map[*Subscriber]struct{}, k K, s *Subscriber) {
	if m[k] == nil {
		m[k] = map[*Subscriber]struct{}{}
	}
	m[k][s] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*Subscriber]struct{}, k K, s *Subscriber) {
	delete(m[k], s)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// Subscribe registers a subscriber for site until ctx ends. match (nil:
// everything) selects the updates it receives; it runs on the hub's
// dispatcher, so it must be quick and must not block. keys (IDKey,
// HostKey), when given, promise that match accepts only updates of those
// checks or hosts: the hub then offers it only those, so a thousand
// subscribers to one host each cost nothing for the other hosts' changes.
func (h *Hub) Subscribe(ctx context.Context, site uuid.UUID, match func(*Update) bool, keys ...string) *Subscriber {
	return h.SubscribeAs(ctx, site, nil, match, keys...)
}

// SubscribeAs is Subscribe for a subscriber whose match depends on its
// member's access: the hub calls access.Reload (see Reloader) when the
// site's configuration or memberships change. Subscribers may share one
// Reloader (the subscriptions of one connection): it is called once per
// change.
func (h *Hub) SubscribeAs(ctx context.Context, site uuid.UUID, access Reloader, match func(*Update) bool, keys ...string) *Subscriber {
	s := &Subscriber{site: site, match: match, access: access, keys: slices.Compact(slices.Sorted(slices.Values(keys))), c: make(chan []*Update, subscriberBuffer), more: make(chan struct{}, 1)}
	h.mu.Lock()
	if len(h.subs[site]) == 0 {
		h.following[site] = time.Now()
	}
	addTo(h.subs, site, s)
	if len(s.keys) == 0 {
		addTo(h.open, site, s)
	}
	for _, k := range s.keys {
		if h.keyed[site] == nil {
			h.keyed[site] = map[string]map[*Subscriber]struct{}{}
		}
		addTo(h.keyed[site], k, s)
	}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		removeFrom(h.subs, site, s)
		removeFrom(h.open, site, s)
		for _, k := range s.keys {
			removeFrom(h.keyed[site], k, s)
		}
		if len(h.keyed[site]) == 0 {
			delete(h.keyed, site)
		}
		if len(h.subs[site]) == 0 {
			// Without subscribers the site's changes are not followed:
			// forget its last states rather than keep stale ones.
			for id, l := range h.last {
				if l.site == site {
					delete(h.last, id)
				}
			}
			delete(h.following, site)
		}
	})
	return s
}

// Next waits for s's next batch of updates (never empty) until ctx ends.
// Batches come in the order their changes were read. A subscriber that
// falls subscriberBuffer batches behind gets the rest of its backlog as
// one batch, coalesced by check (see Coalesced).
func (h *Hub) Next(ctx context.Context, s *Subscriber) ([]*Update, error) {
	for {
		select {
		case b := <-s.c:
			return b, nil
		default:
		}
		h.mu.Lock()
		// Senders hold h.mu and, while owed is set, queue nothing on c:
		// with c empty here, owed is everything left, in order.
		if o := s.owed; o != nil && len(s.c) == 0 {
			s.owed = nil
			h.mu.Unlock()
			return o.batch(), nil
		}
		h.mu.Unlock()
		select {
		case b := <-s.c:
			return b, nil
		case <-s.more:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Coalesced counts the updates s received merged into a later update of
// the same check because it fell behind.
func (h *Hub) Coalesced(s *Subscriber) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return s.coalesced
}

// Total counts the open subscriptions of every site on this node
// (bergamot_live_subscribers).
func (h *Hub) Total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.subs {
		n += len(s)
	}
	return n
}

// Subscribers counts the open subscriptions of site on this node.
func (h *Hub) Subscribers(site uuid.UUID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[site])
}

// Run listens until ctx ends, reconnecting after errors.
func (h *Hub) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); h.dispatcher(ctx) }()
	defer func() { <-done }()
	var since time.Time
	for ctx.Err() == nil {
		conn, err := h.Pool.Acquire(ctx)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		channels, err := store.ListenAll(ctx, conn.Conn(), wire.Channel, store.ConfigChannel, tenants.MembersChannel)
		if err != nil {
			conn.Release()
			sleep(ctx, time.Second)
			continue
		}
		if !since.IsZero() {
			metrics.LiveResynced()
			// Announcements of access changes may have been missed too.
			for _, site := range h.sites() {
				h.accessChanged(site.String())
			}
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
			if channels[n.Channel] == wire.Channel {
				h.handle(n.Payload)
			} else {
				h.accessChanged(n.Payload)
			}
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

// resync queues every check of subscribed sites changed since t.
func (h *Hub) resync(ctx context.Context, t time.Time) {
	for _, site := range h.sites() {
		var ids []uuid.UUID
		err := tenants.InSite(tenants.WithSite(ctx, site), h.Pool, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			ids, err = store.ChangedSince(ctx, tx, t)
			return err
		})
		if err == nil && len(ids) > 0 {
			h.enqueue(site, ids)
		}
	}
}

// handle queues the checks of one notification ("<site>:<id>,<id>...")
// when the site has subscribers on this node.
func (h *Hub) handle(payload string) {
	site, ids, err := wire.Decode(payload)
	if err != nil {
		return
	}
	h.mu.Lock()
	_, any := h.subs[site]
	h.mu.Unlock()
	if !any {
		return
	}
	h.enqueue(site, ids)
}

// accessChanged marks the site named by payload (a site id: a
// configuration apply or a membership change) for its subscribers' access
// to be reloaded before anything more of it is dispatched, when it has
// subscribers on this node.
func (h *Hub) accessChanged(payload string) {
	site, err := uuid.Parse(payload)
	if err != nil {
		return
	}
	h.mu.Lock()
	_, any := h.subs[site]
	if any {
		h.stale[site] = struct{}{}
	}
	h.mu.Unlock()
	if any {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// reload re-reads the access of the stale sites' subscribers: one
// Reload per site, given each of its Reloaders once. A site whose reload
// failed is marked stale again a second later.
func (h *Hub) reload(ctx context.Context, stale map[uuid.UUID]struct{}) {
	for site := range stale {
		h.mu.Lock()
		var rs []Reloader
		seen := map[Reloader]bool{}
		for s := range h.subs[site] {
			if s.access != nil && !seen[s.access] {
				seen[s.access] = true
				rs = append(rs, s.access)
			}
		}
		h.mu.Unlock()
		if len(rs) == 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := rs[0].Reload(rctx, rs)
		cancel()
		switch {
		case err == nil:
			h.Logger.DebugContext(ctx, "live updates: reloaded subscribers' access", slog.String("site", site.String()), slog.Int("reloaded", len(rs)))
		case ctx.Err() == nil:
			h.Logger.WarnContext(ctx, "live updates: re-reading the site's subscribers' access failed; they receive nothing until it succeeds",
				slog.String("site", site.String()), slog.Int("subscribers", len(rs)), slog.Any("error", err))
			time.AfterFunc(time.Second, func() { h.accessChanged(site.String()) })
		}
	}
}

func (h *Hub) enqueue(site uuid.UUID, ids []uuid.UUID) {
	h.mu.Lock()
	p := h.pending[site]
	if p == nil {
		p = make(map[uuid.UUID]struct{}, len(ids))
		h.pending[site] = p
	}
	for _, id := range ids {
		p[id] = struct{}{}
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// dispatcher re-reads and pushes queued changes until ctx ends: one
// re-read per site for everything queued since the last one began.
//
// Re-reads run one at a time. Two in flight would hide the next one's
// wait on PostgreSQL, but the one begun later could take its snapshot
// first, and delivering in the order they began would then show a check
// going back to an older state (TestSubscriptions/a_burst... caught that).
func (h *Hub) dispatcher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.mu.Lock()
		batch, stale := h.pending, h.stale
		h.pending, h.stale = map[uuid.UUID]map[uuid.UUID]struct{}{}, map[uuid.UUID]struct{}{}
		h.mu.Unlock()
		// Access first: the changes queued with it were read after it
		// changed and must be gated by the new rule.
		h.reload(ctx, stale)
		for site, set := range batch {
			ids := make([]uuid.UUID, 0, len(set))
			for id := range set {
				ids = append(ids, id)
			}
			if r := h.reread(ctx, site, ids); r != nil {
				h.deliver(r)
			}
		}
	}
}

// reread is one site's changed checks as re-read for its subscribers.
type reread struct {
	site    uuid.UUID
	rows    []*store.CheckRow
	alerts  []*store.Alert
	parents map[string]*store.CheckRow
	before  map[uuid.UUID]*store.CheckState
	// summaryAt is, for checks the hub had not followed, when their
	// state's summary last changed (check_state.summary_changed_at).
	summaryAt map[uuid.UUID]time.Time
}

// followMargin is how long before the hub began following a site a
// summary change may have happened and still count for the first update
// of a check the hub had not followed: a change is stamped when written
// (clock_timestamp) but seen at commit, and the database's clock may be
// a little off the hub's. Too long costs a duplicate message, too short
// a lost change.
const followMargin = 30 * time.Second

// reread reads the checks ids of site with their alerts and parents in one
// round trip (an implicit transaction under the site's row-level security);
// nil when that failed (logged).
func (h *Hub) reread(ctx context.Context, site uuid.UUID, ids []uuid.UUID) *reread {
	h.mu.Lock()
	var unknown []uuid.UUID
	for _, id := range ids {
		if _, ok := h.last[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	h.mu.Unlock()
	began := time.Now()
	r := &reread{site: site, parents: map[string]*store.CheckRow{}, before: map[uuid.UUID]*store.CheckState{}, summaryAt: map[uuid.UUID]time.Time{}}
	var all []*store.CheckRow
	b := tenants.SiteBatch(site)
	store.QueueChecksAndParents(b, ids, &all)
	store.QueueAlertsForChecks(b, ids, &r.alerts)
	store.QueuePreviousStates(b, unknown, r.before, r.summaryAt)
	if h.Trace != nil {
		defer func() { h.Trace.Add("hub: re-read", time.Since(began)) }()
	}
	if err := h.Pool.SendBatch(ctx, b).Close(); err != nil {
		if ctx.Err() == nil {
			h.Logger.WarnContext(ctx, "live updates: re-reading checks failed", slog.Any("error", err))
		}
		return nil
	}
	changed := make(map[string]bool, len(ids))
	for _, id := range ids {
		changed[id.String()] = true
	}
	for _, c := range all {
		r.parents[c.ID] = c
		if changed[c.ID] {
			r.rows = append(r.rows, c)
		}
	}
	h.Logger.DebugContext(ctx, "live updates: re-read", slog.String("site", site.String()), slog.Int("checks", len(ids)),
		slog.Int("unknown", len(unknown)), slog.Duration("took", time.Since(began)))
	return r
}

// deliver pushes a re-read to its site's subscribers.
func (h *Hub) deliver(r *reread) {
	h.traceRows("4 hub re-read", r.rows)
	byCheck := map[string][]*store.Alert{}
	for _, a := range r.alerts {
		byCheck[a.CheckID] = append(byCheck[a.CheckID], a)
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.subs[r.site]
	updates := make([]*Update, 0, len(r.rows))
	for _, c := range r.rows {
		id, _ := uuid.Parse(c.ID)
		prev := r.before[id]
		var changed bool
		if l, ok := h.last[id]; ok {
			prev = l.state
			changed = store.SummaryChanged(prev, c.State)
		} else {
			if prev == nil {
				prev = c.State // no change recorded by the latest result
			}
			at, known := r.summaryAt[id]
			since, following := h.following[r.site]
			changed = !known || !following || !at.Before(since.Add(-followMargin))
		}
		updates = append(updates, &Update{Check: c, Previous: prev, Alerts: byCheck[c.ID], Parent: r.parents[c.ParentID], At: now, Changed: changed})
		if subs != nil {
			h.last[id] = lastState{site: r.site, state: c.State}
		}
	}
	h.fanOut(r.site, updates)
	h.traceRows("5 hub fanned out", r.rows)
}

// traceRows tells Trace, when set, that the rows' results reached stage.
func (h *Hub) traceRows(stage string, rows []*store.CheckRow) {
	if h.Trace == nil {
		return
	}
	for _, c := range rows {
		if c.State != nil {
			h.Trace.Stamp(stage, c.State.Output)
		}
	}
}

// fanOut offers updates to the site's subscribers: every open one, and
// the keyed ones following a changed check or its host. h.mu is held.
func (h *Hub) fanOut(site uuid.UUID, updates []*Update) {
	for s := range h.open[site] {
		h.push(s, updates)
	}
	if keyed := h.keyed[site]; len(keyed) > 0 {
		batches := map[*Subscriber][]*Update{}
		for _, u := range updates {
			for _, k := range keysOf(u.Check) {
				for s := range keyed[k] {
					b := batches[s]
					if (len(b) == 0 || b[len(b)-1] != u) && (s.match == nil || s.match(u)) {
						batches[s] = append(b, u)
					}
				}
			}
		}
		for s, b := range batches {
			h.send(s, b)
		}
	}
}

// push sends s the updates it matches, as one batch.
func (h *Hub) push(s *Subscriber, updates []*Update) {
	mine := updates
	if s.match != nil {
		mine = nil
		for _, u := range updates {
			if s.match(u) {
				mine = append(mine, u)
			}
		}
	}
	h.send(s, mine)
}

// send queues a non-empty batch for s. Once s's buffer is full, this and
// later batches are coalesced into its backlog until Next has drained the
// buffer, so nothing is lost and memory stays bounded by the site's
// checks. h.mu is held.
func (h *Hub) send(s *Subscriber, batch []*Update) {
	if len(batch) == 0 {
		return
	}
	if s.owed == nil {
		select {
		case s.c <- batch:
			return
		default:
			s.owed = &owed{updates: map[string]*Update{}}
			h.Logger.Warn("live updates: a subscriber fell behind; coalescing its updates by check", slog.String("site", s.site.String()))
		}
	}
	n := s.owed.add(batch)
	s.coalesced += n
	metrics.LiveCoalesced(n)
	select {
	case s.more <- struct{}{}:
	default:
	}
}
