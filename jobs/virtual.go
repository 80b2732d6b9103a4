package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor/virtual"
	"github.com/bergamot-monitoring/bergamot/store"
)

// ConfigChannel is the NOTIFY channel store.Configs.Apply announces a
// site's new configuration on (payload: the site's UUID).
const ConfigChannel = store.ConfigChannel

// VirtualWorker names the results virtual checks get (check_state.worker).
const VirtualWorker = "bergamot/virtual"

// VirtualSink keeps clusters and resources up to date: after the processor
// writes a batch of results, it re-evaluates every virtual check whose
// condition refers (directly or through other virtual checks) to a
// processed check, in dependency order, in the same transaction, and runs
// each verdict through the state machine like a real result. A virtual
// check is hard only when every check its condition looked at is hard.
//
// Parsed conditions and the reverse index (check -> virtual checks that
// refer to it) are cached per site; Run drops a site's cache when its
// configuration changes.
type VirtualSink struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Forward receives the events of the virtual checks this sink updates
	// (notifications and other sinks; not this sink itself).
	Forward []EventSink
	// MaxAge bounds how long a site's cache is trusted without a
	// configuration notification (default 10 minutes).
	MaxAge time.Duration

	mu    sync.Mutex
	sites map[uuid.UUID]*virtualIndex
}

// HandleEvents does nothing: virtual checks re-evaluate in AfterBatch,
// once the batch's new states are written.
func (v *VirtualSink) HandleEvents(context.Context, pgx.Tx, *ProcessedCheck) error { return nil }

// Invalidate drops the cached conditions of a site (uuid.Nil: all sites).
func (v *VirtualSink) Invalidate(site uuid.UUID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if site == uuid.Nil {
		v.sites = nil
		return
	}
	delete(v.sites, site)
}

// Run LISTENs on ConfigChannel until ctx ends, dropping a site's cache on
// each notification and every cache after a reconnect.
func (v *VirtualSink) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := v.listen(ctx); err != nil && ctx.Err() == nil {
			v.Logger.WarnContext(ctx, "lost LISTEN connection; reconnecting", slog.String("channel", ConfigChannel), slog.Any("error", err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (v *VirtualSink) listen(ctx context.Context) error {
	conn, err := v.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// The connection may be broken or still listening: don't reuse it.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if err := store.Listen(ctx, conn.Conn(), ConfigChannel); err != nil {
		return err
	}
	v.Invalidate(uuid.Nil) // changes may have been missed meanwhile
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if site, err := uuid.Parse(n.Payload); err == nil {
			v.Invalidate(site)
		} else {
			v.Invalidate(uuid.Nil)
		}
	}
}

// AfterBatch re-evaluates the virtual checks depending on the processed
// checks (see VirtualSink).
func (v *VirtualSink) AfterBatch(ctx context.Context, tx pgx.Tx, site uuid.UUID, processed []*ProcessedCheck) error {
	idx, err := v.index(ctx, tx, site)
	if err != nil {
		return err
	}
	roots := make([]uuid.UUID, 0, len(processed))
	for _, pc := range processed {
		roots = append(roots, pc.CheckID)
	}
	order := idx.affected(roots)
	if len(order) == 0 {
		return nil
	}
	// Processors run in parallel on different checks, and two of them may
	// affect one virtual check. Each evaluates it holding its lock, taken
	// for all affected virtual checks at once in id order (so two batches
	// never wait on each other in a cycle); the second then reads the
	// first's committed member states and the virtual check's new state.
	locks := slices.SortedFunc(slices.Values(order), func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, hashtext(id::text)) FROM unnest($2::uuid[]) AS id`,
		virtualLockClass, locks); err != nil {
		return fmt.Errorf("locking virtual checks: %w", err)
	}
	changed := make([]uuid.UUID, 0, len(order))
	for _, id := range order {
		pc, err := v.evaluate(ctx, tx, site, idx, id)
		if err != nil {
			return err
		}
		if pc == nil {
			continue
		}
		changed = append(changed, id)
		for _, s := range v.Forward {
			if err := s.HandleEvents(ctx, tx, pc); err != nil {
				return fmt.Errorf("virtual check %s: %w", idx.checks[id].label, err)
			}
		}
	}
	if err := store.Announce(ctx, tx, site, changed); err != nil {
		return fmt.Errorf("virtual checks: %w", err)
	}
	return nil
}

// virtualLockClass is the first key of the advisory locks virtual checks
// are evaluated under (the second is a hash of the check id).
const virtualLockClass = 0x76697274 // "virt"

// evaluate computes one virtual check's verdict from the current state of
// its members and applies it.
func (v *VirtualSink) evaluate(ctx context.Context, tx pgx.Tx, site uuid.UUID, idx *virtualIndex, id uuid.UUID) (*ProcessedCheck, error) {
	vc := idx.checks[id]
	verdict, err := vc.eval(ctx, tx, idx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		verdict = virtual.Verdict{Status: checks.StatusUnknown, Hard: true, Output: "condition: " + err.Error()}
	}
	res := checks.Result{Status: verdict.Status, Output: verdict.Output, Started: time.Now(), Worker: VirtualWorker}
	b := &pgx.Batch{}
	pc, err := ApplyResult(ctx, tx, b, site, id, res, ApplyOptions{Immediate: true, Unconfirmed: !verdict.Hard})
	if err != nil || pc == nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("writing virtual check %s: %w", vc.label, err)
	}
	return pc, nil
}

func (v *VirtualSink) index(ctx context.Context, tx pgx.Tx, site uuid.UUID) (*virtualIndex, error) {
	maxAge := v.MaxAge
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	v.mu.Lock()
	idx := v.sites[site]
	v.mu.Unlock()
	if idx != nil && time.Since(idx.loaded) < maxAge {
		return idx, nil
	}
	idx, err := loadVirtualIndex(ctx, tx)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.sites == nil {
		v.sites = map[uuid.UUID]*virtualIndex{}
	}
	v.sites[site] = idx
	v.mu.Unlock()
	return idx, nil
}

// virtualIndex is one site's virtual checks, their resolved references and
// the reverse index from any check to the virtual checks that refer to it.
type virtualIndex struct {
	loaded     time.Time
	labels     map[uuid.UUID]string
	checks     map[uuid.UUID]*virtualCheck
	dependents map[uuid.UUID][]uuid.UUID
}

type virtualCheck struct {
	id      uuid.UUID
	label   string
	expr    *virtual.Expr
	err     error // a condition that no longer parses or resolves
	refs    map[virtual.Ref][]uuid.UUID
	members []uuid.UUID
}

// affected lists the virtual checks depending on roots, transitively,
// with every check after the virtual checks it depends on (cycles, which
// configuration validation rejects, are broken arbitrarily).
func (x *virtualIndex) affected(roots []uuid.UUID) []uuid.UUID {
	set := map[uuid.UUID]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, d := range x.dependents[id] {
			if !set[d] {
				set[d] = true
				queue = append(queue, d)
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	// Kahn's algorithm over the affected virtual checks.
	indeg := map[uuid.UUID]int{}
	for id := range set {
		for _, m := range x.checks[id].members {
			if set[m] {
				indeg[id]++
			}
		}
	}
	var order, ready []uuid.UUID
	for id := range set {
		if indeg[id] == 0 {
			ready = append(ready, id)
		}
	}
	for len(order) < len(set) {
		if len(ready) == 0 { // a cycle: take the rest in any order
			for id := range set {
				if indeg[id] > 0 {
					ready = append(ready, id)
					indeg[id] = 0
					break
				}
			}
		}
		slices.SortFunc(ready, func(a, b uuid.UUID) int { return strings.Compare(x.checks[a].label, x.checks[b].label) })
		id := ready[0]
		ready = ready[1:]
		order = append(order, id)
		for _, d := range x.dependents[id] {
			if set[d] && indeg[d] > 0 {
				if indeg[d]--; indeg[d] == 0 {
					ready = append(ready, d)
				}
			}
		}
	}
	return order
}

// eval reads the members' current state and evaluates the condition.
func (vc *virtualCheck) eval(ctx context.Context, tx pgx.Tx, x *virtualIndex) (virtual.Verdict, error) {
	if vc.err != nil {
		return virtual.Verdict{}, vc.err
	}
	read, err := store.MemberStates(ctx, tx, vc.members)
	if err != nil {
		return virtual.Verdict{}, err
	}
	states := make(map[uuid.UUID]virtual.Member, len(vc.members))
	for id, m := range read {
		states[id] = virtual.Member{ID: id.String(), Name: x.labels[id], Status: m.Status, Hard: m.Hard}
	}
	return vc.expr.Eval(ctx, stateResolver{refs: vc.refs, states: states})
}

// stateResolver answers references from resolved ids and loaded states.
type stateResolver struct {
	refs   map[virtual.Ref][]uuid.UUID
	states map[uuid.UUID]virtual.Member
}

// Resolve implements virtual.Resolver.
func (r stateResolver) Resolve(_ context.Context, ref virtual.Ref) ([]virtual.Member, error) {
	ids, ok := r.refs[ref]
	if !ok {
		return nil, fmt.Errorf("unknown reference %s", ref)
	}
	out := make([]virtual.Member, 0, len(ids))
	for _, id := range ids {
		if m, ok := r.states[id]; ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// checkRef is one row of checks as the index sees it.
type checkRef struct {
	id     uuid.UUID
	kind   string
	name   string
	parent uuid.UUID
	pool   string
	cond   string
}

// siteChecks finds checks by name, parent and pool.
type siteChecks struct {
	byID     map[uuid.UUID]*checkRef
	top      map[string]uuid.UUID               // kind \x00 name -> host or cluster
	children map[uuid.UUID]map[string]uuid.UUID // parent -> kind \x00 name -> child
	pools    map[string][]uuid.UUID             // kind \x00 pool -> members, by name
}

// loadVirtualIndex reads the site's checks (tx is scoped to the site) and
// resolves every condition's references to check ids.
func loadVirtualIndex(ctx context.Context, tx pgx.Tx) (*virtualIndex, error) {
	refs, err := store.CheckRefs(ctx, tx)
	if err != nil {
		return nil, err
	}
	sc := &siteChecks{byID: map[uuid.UUID]*checkRef{}, top: map[string]uuid.UUID{},
		children: map[uuid.UUID]map[string]uuid.UUID{}, pools: map[string][]uuid.UUID{}}
	all := make([]*checkRef, len(refs))
	for i, r := range refs {
		all[i] = &checkRef{id: r.ID, kind: r.Kind, name: r.Name, parent: r.Parent, pool: r.Pool, cond: r.Condition}
	}
	for _, c := range all {
		sc.byID[c.id] = c
		if c.parent == uuid.Nil {
			sc.top[c.kind+"\x00"+c.name] = c.id
		} else {
			if sc.children[c.parent] == nil {
				sc.children[c.parent] = map[string]uuid.UUID{}
			}
			sc.children[c.parent][c.kind+"\x00"+c.name] = c.id
		}
		if c.pool != "" {
			sc.pools[c.kind+"\x00"+c.pool] = append(sc.pools[c.kind+"\x00"+c.pool], c.id)
		}
	}
	x := &virtualIndex{loaded: time.Now(), labels: map[uuid.UUID]string{}, checks: map[uuid.UUID]*virtualCheck{},
		dependents: map[uuid.UUID][]uuid.UUID{}}
	for _, c := range all {
		x.labels[c.id] = sc.label(c)
		if c.kind != "cluster" && c.kind != "resource" {
			continue
		}
		vc := sc.resolveCondition(c)
		x.checks[c.id] = vc
		for _, m := range vc.members {
			x.dependents[m] = append(x.dependents[m], c.id)
		}
	}
	return x, nil
}

// label names a member in verdict output: "web1", "http on web1".
func (sc *siteChecks) label(c *checkRef) string {
	if p := sc.byID[c.parent]; p != nil {
		return c.name + " on " + p.name
	}
	return c.name
}

func (sc *siteChecks) resolveCondition(c *checkRef) *virtualCheck {
	vc := &virtualCheck{id: c.id, label: c.kind + " " + c.name, refs: map[virtual.Ref][]uuid.UUID{}}
	vc.expr, vc.err = virtual.Parse(c.cond)
	if vc.err != nil {
		return vc
	}
	seen := map[uuid.UUID]bool{}
	for _, ref := range vc.expr.References() {
		ids, err := sc.resolve(ref)
		if err != nil {
			vc.err = err
			return vc
		}
		vc.refs[ref] = ids
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				vc.members = append(vc.members, id)
			}
		}
	}
	return vc
}

// resolve finds the checks a reference names.
func (sc *siteChecks) resolve(ref virtual.Ref) ([]uuid.UUID, error) {
	kind := string(ref.Kind)
	switch {
	case ref.ID != "":
		id, err := uuid.Parse(ref.ID)
		if c := sc.byID[id]; err == nil && c != nil && c.kind == kind {
			return []uuid.UUID{id}, nil
		}
		return nil, fmt.Errorf("no %s with id %s", kind, ref.ID)
	case ref.Pool != "" && ref.Name == "":
		return slices.Clone(sc.pools[kind+"\x00"+ref.Pool]), nil
	case ref.Pool != "":
		var out []uuid.UUID
		for _, h := range sc.pools["host\x00"+ref.Pool] {
			if id, ok := sc.children[h][kind+"\x00"+ref.Name]; ok {
				out = append(out, id)
			}
		}
		return out, nil
	}
	var parent uuid.UUID
	switch ref.Kind {
	case virtual.RefHost, virtual.RefCluster:
		if id, ok := sc.top[kind+"\x00"+ref.Name]; ok {
			return []uuid.UUID{id}, nil
		}
		return nil, fmt.Errorf("unknown %s %q", kind, ref.Name)
	case virtual.RefService, virtual.RefTrap:
		p, err := sc.parent("host", ref.Host, ref.HostID)
		if err != nil {
			return nil, err
		}
		parent = p
	case virtual.RefResource:
		p, err := sc.parent("cluster", ref.Cluster, ref.ClusterID)
		if err != nil {
			return nil, err
		}
		parent = p
	}
	if id, ok := sc.children[parent][kind+"\x00"+ref.Name]; ok {
		return []uuid.UUID{id}, nil
	}
	return nil, fmt.Errorf("%s has no %s %q", sc.label(sc.byID[parent]), kind, ref.Name)
}

func (sc *siteChecks) parent(kind, name, id string) (uuid.UUID, error) {
	if id != "" {
		u, err := uuid.Parse(id)
		if c := sc.byID[u]; err == nil && c != nil && c.kind == kind {
			return u, nil
		}
		return uuid.Nil, fmt.Errorf("no %s with id %s", kind, id)
	}
	if u, ok := sc.top[kind+"\x00"+name]; ok {
		return u, nil
	}
	return uuid.Nil, fmt.Errorf("unknown %s %q", kind, name)
}
