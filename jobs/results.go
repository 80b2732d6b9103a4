package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// ChecksChannel is the NOTIFY channel announcing processed results
// (store.Announce sends it; package live/wire owns its payload).
const ChecksChannel = store.ChecksChannel

// ResultsChannel wakes processors when results arrive.
const ResultsChannel = store.ResultsChannel

// EventSink receives the state machine's events inside the processing
// transaction (the notification issue enqueues notification jobs here).
type EventSink interface {
	HandleEvents(ctx context.Context, tx pgx.Tx, c *ProcessedCheck) error
}

// BatchSink is an EventSink that also sees every check a transaction
// processed for a site, after their writes were sent (so it reads the new
// state), still inside the transaction. Virtual checks re-evaluate here.
type BatchSink interface {
	AfterBatch(ctx context.Context, tx pgx.Tx, site uuid.UUID, processed []*ProcessedCheck) error
}

// ProcessedCheck is one check after a result: what the sinks see.
type ProcessedCheck = monitor.ProcessedCheck

// Processor turns results into state.
//
// The inbox is split into resultLanes lanes by check id, and a
// transaction processes only lanes it holds (a transaction-level advisory
// lock each). So every result of one check is processed by one
// transaction at a time, in arrival order, however many processors run:
// Loops per serve node, on as many nodes as there are. Processors that
// hold different lanes work in parallel.
type Processor struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	Sinks  []EventSink
	// Batch is the most results per transaction (default 500).
	Batch int
	// Loops is how many transactions this processor runs at once, each on
	// its share of the lanes (default 1). On the 2-core reference machine
	// a second loop made results slower, not faster: more, smaller
	// transactions competing for the same two cores.
	Loops int
	// Wake, when set, is signalled by a LISTEN on ResultsChannel.
	Wake <-chan struct{}
	// Trace, set only by the latency benchmark, is told when results are
	// claimed, applied and committed; nil (production) costs nothing.
	Trace lattrace.Tracer
	// IdleTimeout bounds how long a processing transaction may sit idle
	// between statements before PostgreSQL ends its session (default
	// IdleInTransaction): a node frozen mid-transaction (SIGSTOP, a VM
	// paused) would otherwise hold its lanes, and every result in them,
	// until it resumes.
	IdleTimeout time.Duration
}

// IdleInTransaction is the default bound on a scheduler's or processor's
// transaction sitting idle between statements
// (idle_in_transaction_session_timeout, set for that transaction only).
// Their transactions go from one statement to the next in milliseconds;
// one idle this long belongs to a frozen process, whose session
// PostgreSQL then ends, releasing its locks to the other nodes (the frozen
// node's transaction rolls back and it starts afresh when it resumes).
const IdleInTransaction = 15 * time.Second

// idleTimeoutSQL is the statement that bounds the current transaction's
// idle time to d.
func idleTimeoutSQL(d time.Duration) string {
	return fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %d", cmp.Or(d, IdleInTransaction).Milliseconds())
}

// resultLanes is how many lanes the inbox is split into: enough for
// several serve nodes with a few loops each. A result's lane is the last
// byte of its check id (random in a v4 UUID) modulo resultLanes.
const resultLanes = 16

// laneLockClass is the first key of the lanes' advisory locks (the second
// is the lane).
const laneLockClass = 0x62657267 // "berg"

// laneOf is the lane of check's results: the last byte of its id modulo
// resultLanes, as claimResults computes it.
func laneOf(check uuid.UUID) int {
	return int(check[15]) % resultLanes
}

// queueCounted adds the results a transaction applied, per lane, to its
// site's counter (store.QueueResultsCounted). A processor holds each lane
// it counts in, so no two transactions ever wait on one counter row.
func queueCounted(b *pgx.Batch, site uuid.UUID, counted *[resultLanes]int64) {
	var lanes []int16
	var n []int64
	for l, c := range counted {
		if c > 0 {
			lanes, n = append(lanes, int16(l)), append(n, c)
		}
	}
	store.QueueResultsCounted(b, site, lanes, n)
}

// allLanes lists every lane.
var allLanes = func() []int32 {
	out := make([]int32, resultLanes)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}()

// Run processes results until ctx ends, in Loops parallel loops.
func (p *Processor) Run(ctx context.Context) error {
	if p.Batch <= 0 {
		p.Batch = 500
	}
	loops := min(max(p.Loops, 1), resultLanes)
	// Every loop hears every wake-up.
	wakes := make([]chan struct{}, loops)
	for i := range wakes {
		wakes[i] = make(chan struct{}, 1)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.Wake:
				for _, w := range wakes {
					select {
					case w <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range loops {
		var lanes []int32
		for l := i; l < resultLanes; l += loops {
			lanes = append(lanes, int32(l))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx, lanes, wakes[i])
		}()
	}
	wg.Wait()
	return nil
}

// loop processes the results of lanes until ctx ends.
func (p *Processor) loop(ctx context.Context, lanes []int32, wake <-chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		for {
			n, err := p.runOnce(ctx, lanes)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.Logger.ErrorContext(ctx, "processing results failed", slog.Any("error", err))
				break
			}
			if n < p.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
	}
}

type inboxRow struct {
	site, check uuid.UUID
	result      checks.Result
	received    time.Time
}

// lanesOf are the lanes mine of the inbox as store claims them.
func lanesOf(mine []int32) store.Lanes {
	return store.Lanes{Mine: mine, LockClass: laneLockClass, Count: resultLanes}
}

// RunOnce processes one batch from any lanes not held by another
// processor; it returns how many results it took.
func (p *Processor) RunOnce(ctx context.Context) (int, error) {
	return p.runOnce(ctx, allLanes)
}

// errStateChanged reports that a check's state changed between the
// processor's read and its write (an acknowledgement, a downtime or an
// escalation committed meanwhile). The transaction is rolled back, its
// results stay in the inbox, and the batch is processed again from the
// new state, so neither change is lost.
var errStateChanged = errors.New("a check's state changed while its results were applied")

// runOnce processes one batch of the lanes it can lock, again when a
// state changed under it.
func (p *Processor) runOnce(ctx context.Context, lanes []int32) (int, error) {
	for attempt := 1; ; attempt++ {
		n, err := p.processBatch(ctx, lanes)
		if !errors.Is(err, errStateChanged) {
			metrics.ResultsProcessed(n) // committed, also when a split set one aside
		}
		if !errors.Is(err, errStateChanged) || attempt == 5 {
			return n, err
		}
		p.Logger.DebugContext(ctx, "processing results again: a state changed meanwhile", slog.Int("attempt", attempt))
	}
}

// processBatch processes one batch of the lanes it can lock in one
// transaction. When PostgreSQL refuses something in it, the batch is split
// until the result that fails on its own is found and set aside
// (quarantine.go), so one bad result never holds the others hostage.
func (p *Processor) processBatch(ctx context.Context, lanes []int32) (int, error) {
	if p.Batch <= 0 {
		p.Batch = 500
	}
	n, claimed, err := p.processRows(ctx, lanes, nil)
	if err == nil || !poisonable(err) || len(claimed) == 0 || ctx.Err() != nil {
		return n, err
	}
	p.Logger.WarnContext(ctx, "a batch of results failed: splitting it to set aside the result that cannot be stored",
		slog.Int("results", len(claimed)), slog.Any("error", err))
	return p.split(ctx, lanes, claimed, err)
}

// processRows claims the oldest results of the lanes it can lock (or,
// with only, just those inbox rows) and processes them in one
// transaction. BEGIN travels with the claim, and each site's setting with
// the read of its checks' state, to spend as few round trips as possible.
// It returns how many it processed and the ids of the rows it claimed
// (also when it fails).
func (p *Processor) processRows(ctx context.Context, lanes []int32, only []int64) (int, []int64, error) {
	type keyed struct {
		id  int64
		row *inboxRow
	}
	var all []keyed
	var claimed []int64
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(idleTimeoutSQL(p.IdleTimeout))
	store.QueueClaimResults(b, p.Batch, only, lanesOf(lanes), func(row store.InboxRow) {
		claimed = append(claimed, row.ID)
		r := &inboxRow{site: row.Site, check: row.Check, received: row.Received}
		if err := json.Unmarshal(row.Body, &r.result); err != nil {
			p.Logger.ErrorContext(ctx, "dropping unreadable result", slog.Int64("inbox_id", row.ID), slog.Any("error", err))
			return
		}
		all = append(all, keyed{row.ID, r})
		if p.Trace != nil {
			p.Trace.Stamp("1 processor claimed", r.result.Output)
		}
	})
	t0 := time.Now()
	br := p.Pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := br.Close(); err != nil {
		return 0, nil, fmt.Errorf("claiming results: %w", err)
	}
	p.traceStep("processor: claim", t0)
	if len(all) == 0 {
		return 0, claimed, tx.Commit(ctx)
	}
	// RETURNING order is not guaranteed: restore arrival order.
	slices.SortFunc(all, func(a, b keyed) int { return cmp.Compare(a.id, b.id) })
	bySite := map[uuid.UUID][]*inboxRow{}
	var order []uuid.UUID
	for _, k := range all {
		if _, ok := bySite[k.row.site]; !ok {
			order = append(order, k.row.site)
		}
		bySite[k.row.site] = append(bySite[k.row.site], k.row)
	}
	for _, site := range order {
		if err := p.processSite(ctx, tx, site, bySite[site]); err != nil {
			return 0, claimed, err
		}
	}
	if p.Trace != nil {
		for _, k := range all {
			p.Trace.Stamp("2 processor applied", k.row.result.Output)
		}
	}
	t1 := time.Now()
	if err := tx.Commit(ctx); err != nil {
		return 0, claimed, fmt.Errorf("committing results: %w", err)
	}
	p.traceStep("processor: commit", t1)
	if p.Trace != nil {
		for _, k := range all {
			p.Trace.Stamp("3 processor committed", k.row.result.Output)
		}
	}
	return len(all), claimed, nil
}

// traceStep tells Trace, when set, how long a step took since began.
func (p *Processor) traceStep(stage string, began time.Time) {
	if p.Trace != nil {
		p.Trace.Add(stage, time.Since(began))
	}
}

// checkRecord is the processor's working copy of one check (store.CheckRecord).
type checkRecord = store.CheckRecord

func (p *Processor) processSite(ctx context.Context, tx pgx.Tx, site uuid.UUID, results []*inboxRow) error {
	ctx = tenants.WithSite(ctx, site)
	ids := make([]uuid.UUID, 0, len(results))
	seen := map[uuid.UUID]bool{}
	for _, r := range results {
		if !seen[r.check] {
			seen[r.check] = true
			ids = append(ids, r.check)
		}
	}
	// The site's setting and the read of its checks in one round trip.
	read := &pgx.Batch{}
	tenants.QueueSetSite(read, site)
	recs := make(map[uuid.UUID]*checkRecord, len(ids))
	store.QueueLoadRecords(read, ids, recs)
	var exports bool
	store.QueueHasExports(read, &exports)
	t0 := time.Now()
	if err := tx.SendBatch(ctx, read).Close(); err != nil {
		return fmt.Errorf("loading check state: %w", err)
	}
	p.traceStep("processor: read state", t0)
	b := &pgx.Batch{}
	bulk := &store.ResultWrites{NoExports: !exports}
	var changed []uuid.UUID
	var done []*ProcessedCheck
	var counted [resultLanes]int64
	for _, r := range results {
		rec, ok := recs[r.check]
		if !ok {
			continue // check removed meanwhile
		}
		counted[laneOf(r.check)]++
		pc, err := p.apply(ctx, b, bulk, site, r, rec)
		if err != nil {
			return err
		}
		if pc == nil {
			continue // stale: older than the state it would replace
		}
		changed = append(changed, r.check)
		done = append(done, pc)
		for _, sink := range p.Sinks {
			if err := sink.HandleEvents(ctx, tx, pc); err != nil {
				return fmt.Errorf("handling events: %w", err)
			}
		}
	}
	bulk.Queue(b, errStateChanged)
	store.QueueAnnounce(b, site, changed)
	queueCounted(b, site, &counted)
	t1 := time.Now()
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	p.traceStep("processor: write state", t1)
	for _, sink := range p.Sinks {
		if bs, ok := sink.(BatchSink); ok {
			if err := bs.AfterBatch(ctx, tx, site, done); err != nil {
				return fmt.Errorf("handling events: %w", err)
			}
		}
	}
	return nil
}

// loadRecords reads what the state machine needs of the checks ids.
func loadRecords(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID]*checkRecord, error) {
	out := make(map[uuid.UUID]*checkRecord, len(ids))
	b := &pgx.Batch{}
	store.QueueLoadRecords(b, ids, out)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("loading check state: %w", err)
	}
	return out, nil
}

// apply runs r through rec's state machine, queueing the writes on b and
// bulk. It returns nil for a result older than rec's latest (nothing but
// its metrics is written).
func (p *Processor) apply(ctx context.Context, b *pgx.Batch, bulk *store.ResultWrites, site uuid.UUID, r *inboxRow, rec *checkRecord) (*ProcessedCheck, error) {
	prev := rec.Machine
	if prev.LastCheck.IsZero() && prev.Status == checks.StatusPending && prev.Attempt == 0 {
		init := checks.StatusPending
		if st, err := checks.ParseStatus(rec.Settings.Initially.Status); err == nil {
			init = st
		}
		dt := prev.InDowntime // set by the downtime sweep before any result
		prev = monitor.Initial(init, rec.Settings.Initially.Output, r.result.Started)
		prev.InDowntime = dt
	}
	at := r.result.Started.Add(r.result.Runtime)
	if at.IsZero() || at.Year() < 2000 {
		at = r.received
	}
	if !rec.Machine.LastCheck.IsZero() && at.Before(rec.Machine.LastCheck) {
		// Two runs of one check overlapped (executeNow, a rescued job,
		// a passive sender's backlog) and the older finished last: its
		// result would take the check back in time. Like Icinga 2, keep
		// the newer state; the older run's perfdata still counts.
		bulk.Metrics(site, r.check, at, r.result.Perfdata)
		if p.Logger != nil {
			p.Logger.InfoContext(ctx, "ignoring a result older than the check's state", slog.String("check", r.check.String()),
				slog.Time("result_at", at), slog.Time("state_at", rec.Machine.LastCheck))
		}
		return nil, nil
	}
	triggerFlexible(b, rec, r.check, r.result.Status)
	settings := monitor.Settings{FailedAfter: rec.Settings.State.FailedAfter, RecoversAfter: rec.Settings.State.RecoversAfter,
		Renotify: rec.Settings.Notifications.RenotifyEvery}
	next, events := monitor.Apply(prev, monitor.Input{Result: r.result.Status, Output: r.result.Output, Time: at,
		Dependencies: rec.Deps, InDowntime: rec.Downtime, Suppressed: rec.Suppressed}, settings)
	rec.Machine = next

	bulk.States.Add(r.check, next, &r.result, at, rec.ReadAt)
	if next.Status != prev.Status || next.Hard != prev.Hard {
		bulk.History(site, r.check, at, next, prev.Status, r.result.Output)
	}
	bulk.Metrics(site, r.check, at, r.result.Perfdata)
	pc := &ProcessedCheck{SiteID: site, CheckID: r.check, Kind: rec.Kind, AlertID: rec.AlertID, Previous: prev, State: next, Result: &r.result, Events: events}
	for _, e := range events {
		switch e.Kind {
		case monitor.EventHardProblem:
			if rec.AlertID == nil {
				id := uuid.New()
				rec.AlertID, pc.AlertID = &id, &id
				store.QueueAlertOpened(b, id, site, r.check, next.HardStatus.String(), r.result.Output, at)
			}
		case monitor.EventGotWorse, monitor.EventChanged:
			store.QueueAlertChanged(b, r.check, next.HardStatus.String(), r.result.Output, at)
		case monitor.EventRecovered:
			store.QueueAlertRecovered(b, r.check, at)
			rec.AlertID = nil
		}
	}
	if rec.Scheduled {
		want := intervalFor(rec.Settings, next).Milliseconds()
		if want != rec.Interval {
			rec.Interval = want
			store.QueueInterval(b, r.check, want)
		}
	}
	return pc, nil
}

// intervalFor follows the state: soft -> changing-every, hard OK -> every,
// otherwise retry-every.
func intervalFor(s store.CheckSettings, st monitor.State) time.Duration {
	pick := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	switch {
	case !st.Hard:
		return pick(s.Schedule.ChangingEvery, config.DefaultChangingEvery)
	case st.HardOK:
		return pick(s.Schedule.Every, config.DefaultEvery)
	default:
		return pick(s.Schedule.RetryEvery, config.DefaultRetryEvery)
	}
}

// ApplyOptions adjust how ApplyResult runs the state machine.
type ApplyOptions struct {
	// Immediate makes a confirmed change hard at once (thresholds of 1),
	// as for virtual checks, whose members already confirmed it.
	Immediate bool
	// Unconfirmed keeps a change soft, as if dependencies were changing
	// (a virtual check whose members are not all hard).
	Unconfirmed bool
}

// ApplyResult runs one result through the state machine for one check of
// the site inside tx (whose site is already set) and queues the writes the
// processor makes (check_state, state_history, metrics, alerts, schedule)
// on b; the caller sends b, NOTIFYs and calls its sinks. It returns nil
// when the check does not exist.
func ApplyResult(ctx context.Context, tx pgx.Tx, b *pgx.Batch, site, check uuid.UUID, res checks.Result, o ApplyOptions) (*ProcessedCheck, error) {
	recs, err := loadRecords(ctx, tx, []uuid.UUID{check})
	if err != nil {
		return nil, err
	}
	rec, ok := recs[check]
	if !ok {
		return nil, nil
	}
	if o.Immediate {
		rec.Settings.State.FailedAfter, rec.Settings.State.RecoversAfter = 1, 1
	}
	if o.Unconfirmed {
		rec.Deps = max(rec.Deps, monitor.DepsChanging) // a <depends> that is down still wins
	}
	bulk := &store.ResultWrites{}
	pc, err := (&Processor{}).apply(ctx, b, bulk, site, &inboxRow{site: site, check: check, result: res, received: time.Now()}, rec)
	bulk.Queue(b, errStateChanged)
	return pc, err
}
