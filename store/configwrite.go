package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bergamot-monitoring/bergamot/config"
)

// writeChunk is how many checks one statement writes. Column arrays with
// unnest make one round trip and one plan per chunk instead of three
// statements per check (110,000 checks: 35 s -> a few seconds).
const writeChunk = 5000

// checkWriter collects checks as column arrays and writes them with
// INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE.
type checkWriter struct {
	site uuid.UUID
	now  time.Time
	// fresh writers hold only new checks: plain INSERTs, no conflict
	// handling (cheaper for PostgreSQL).
	fresh bool
	// firstWindow, for fresh writers, spreads the new checks' first runs
	// (see FirstRunWindow); 0 leaves them at their stable slots.
	firstWindow time.Duration

	id                                            []uuid.UUID
	parent                                        []pgtype.UUID
	kind, name, summary, description              []string
	enabled, suppressed                           []bool
	address, groups, location, zone, rpool, agent []string
	extRef, engine, executor, command, params     []string
	script, cond, settings, depends, hash         []string
	// check_state defaults
	status, output []string
	ok             []bool
	// check_schedule rows of active checks, and inactive ids to unschedule
	sID        []uuid.UUID
	sNext      []time.Time
	sAlign     []pgtype.Timestamptz
	sInterval  []int32
	sZone, sTP []string
	sAgent     []bool // checks of the agent engine: queued for the hubs
	unsched    []uuid.UUID
}

// firstRunDelay is the least time from a config apply to a new check's
// first run (the apply's own commit comes first).
const firstRunDelay = time.Second

// firstRunRate is the pace, in checks a second, at which a config apply's
// new checks first run (on top of a 10-second window): 20 new checks all
// run within 10 s, an import of 100,000 within 210 s, instead of each at
// its stable slot up to an interval later.
const firstRunRate = 500

// FirstRunWindow is the window over which n checks added by one apply
// first run (each at a stable offset inside it, never later than its own
// stable slot).
func FirstRunWindow(n int) time.Duration {
	return 10*time.Second + time.Duration(n)*time.Second/firstRunRate
}

func newCheckWriter(site uuid.UUID, now time.Time, fresh bool) *checkWriter {
	return &checkWriter{site: site, now: now, fresh: fresh}
}

func (w *checkWriter) len() int { return len(w.id) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// arrayLiteral renders a PostgreSQL text[] literal, every element quoted.
func arrayLiteral(items []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range it {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func (w *checkWriter) add(r *checkRow) {
	c := r.Check
	engine, executor, command, script := "", "", "", ""
	params := checkParams(c)
	if c.Command != nil {
		engine, executor, command, script = c.Command.Engine, c.Command.Executor, c.Command.Name, c.Command.Script
	}
	cond := ""
	if c.Condition != nil {
		cond = c.Condition.Text
	}
	parent := pgtype.UUID{}
	if r.ParentID != nil {
		parent = pgtype.UUID{Bytes: *r.ParentID, Valid: true}
	}
	w.id = append(w.id, r.ID)
	w.parent = append(w.parent, parent)
	w.kind = append(w.kind, r.Kind)
	w.name = append(w.name, r.Name)
	w.summary = append(w.summary, c.Summary)
	w.description = append(w.description, c.Description)
	w.enabled = append(w.enabled, c.Enabled)
	w.suppressed = append(w.suppressed, c.Suppressed)
	w.address = append(w.address, c.Address)
	w.groups = append(w.groups, arrayLiteral(c.Groups))
	w.location = append(w.location, c.Location)
	w.zone = append(w.zone, r.Zone)
	w.rpool = append(w.rpool, c.ResourcePool)
	w.agent = append(w.agent, c.AgentID)
	w.extRef = append(w.extRef, c.ExternalRef)
	w.engine = append(w.engine, engine)
	w.executor = append(w.executor, executor)
	w.command = append(w.command, command)
	w.params = append(w.params, jsonText(params))
	w.script = append(w.script, script)
	w.cond = append(w.cond, cond)
	w.settings = append(w.settings, jsonText(rowSettings(c)))
	w.depends = append(w.depends, arrayLiteral(c.Depends))
	w.hash = append(w.hash, r.Hash)

	status := strings.ToUpper(c.Initially.Status)
	if status == "" {
		status = "PENDING"
	}
	w.status = append(w.status, status)
	w.output = append(w.output, c.Initially.Output)
	w.ok = append(w.ok, status == "PENDING" || status == "OK" || status == "INFO")

	if !r.Active {
		w.unsched = append(w.unsched, r.ID)
		return
	}
	every := r.Every
	if every <= 0 {
		every = config.DefaultEvery
	}
	w.sID = append(w.sID, r.ID)
	next, align := NextSlot(r.ID, every, w.now), pgtype.Timestamptz{}
	if w.firstWindow > 0 { // set on the writer of new checks only
		if first := w.now.Add(firstRunDelay + stableOffset(r.ID, min(w.firstWindow, every))); first.Before(next) {
			next, align = first, pgtype.Timestamptz{Time: next, Valid: true}
		}
	}
	w.sNext = append(w.sNext, next)
	w.sAlign = append(w.sAlign, align)
	w.sInterval = append(w.sInterval, int32(every.Milliseconds()))
	w.sZone = append(w.sZone, r.Zone)
	w.sTP = append(w.sTP, r.TimePeriod)
	w.sAgent = append(w.sAgent, r.Check.Command != nil && r.Check.Command.Engine == "agent")
}

const upsertChecks = `INSERT INTO checks (id, site_id, kind, name, parent_id, summary, description, enabled, suppressed, address, groups,
	location, worker_pool, resource_pool, agent_id, external_ref, engine, executor, command, parameters, script, condition,
	settings, depends, spec_hash, updated_at)
SELECT u.id, $1, u.kind, u.name, u.parent, u.summary, u.description, u.enabled, u.suppressed, u.address,
	u.groups::text[], u.location, u.zone, u.rpool, u.agent, u.ext, u.engine, u.executor,
	u.command, u.params::jsonb, u.script, u.cond, u.settings::jsonb, u.depends::text[], u.hash, now()
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::bool[], $10::text[], $11::text[],
	$12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
	$22::text[], $23::text[], $24::text[], $25::text[])
	AS u(id, parent, kind, name, summary, description, enabled, suppressed, address, groups, location, zone, rpool, agent, ext,
	engine, executor, command, params, script, cond, settings, depends, hash)
ON CONFLICT (id) DO UPDATE SET summary = EXCLUDED.summary, description = EXCLUDED.description, enabled = EXCLUDED.enabled,
	suppressed = EXCLUDED.suppressed, address = EXCLUDED.address, groups = EXCLUDED.groups, location = EXCLUDED.location,
	worker_pool = EXCLUDED.worker_pool, resource_pool = EXCLUDED.resource_pool, agent_id = EXCLUDED.agent_id,
	external_ref = EXCLUDED.external_ref, engine = EXCLUDED.engine, executor = EXCLUDED.executor, command = EXCLUDED.command,
	parameters = EXCLUDED.parameters, script = EXCLUDED.script, condition = EXCLUDED.condition, settings = EXCLUDED.settings,
	depends = EXCLUDED.depends, spec_hash = EXCLUDED.spec_hash, updated_at = now()`

const upsertSchedules = `INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms, zone, time_period, realign_to, agent)
SELECT u.id, $1, u.next, u.iv, u.zone, NULLIF(u.tp, ''), u.align, u.agent
	FROM unnest($2::uuid[], $3::timestamptz[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::bool[]) AS u(id, next, iv, zone, tp, align, agent)
ON CONFLICT (check_id) DO UPDATE SET interval_ms = EXCLUDED.interval_ms, zone = EXCLUDED.zone, time_period = EXCLUDED.time_period,
	agent = EXCLUDED.agent, next_run = LEAST(check_schedule.next_run, EXCLUDED.next_run)`

// flush writes what was collected (checks before their state and schedule,
// so foreign keys hold) and empties the writer.
func (w *checkWriter) flush(ctx context.Context, tx pgx.Tx) error {
	if len(w.id) == 0 {
		return nil
	}
	sql := func(q string) string {
		if w.fresh { // nothing to conflict with: plain INSERTs
			before, _, _ := strings.Cut(q, "ON CONFLICT")
			return before
		}
		return q
	}
	b := &pgx.Batch{}
	b.Queue(sql(upsertChecks), w.site, w.id, w.parent, w.kind, w.name, w.summary, w.description, w.enabled, w.suppressed, w.address,
		w.groups, w.location, w.zone, w.rpool, w.agent, w.extRef, w.engine, w.executor, w.command, w.params, w.script, w.cond,
		w.settings, w.depends, w.hash)
	b.Queue(sql(upsertStates), w.site, w.id, w.status, w.ok, w.output, w.suppressed)
	if len(w.sID) > 0 {
		b.Queue(sql(upsertSchedules), w.site, w.sID, w.sNext, w.sInterval, w.sZone, w.sTP, w.sAlign, w.sAgent)
	}
	if len(w.unsched) > 0 {
		b.Queue(`DELETE FROM check_schedule WHERE check_id = ANY ($1)`, w.unsched)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("writing checks: %w", err)
	}
	*w = checkWriter{site: w.site, now: w.now, fresh: w.fresh, firstWindow: w.firstWindow}
	return nil
}

// setDependsOn stores the resolved <depends> of many checks in one
// statement: pairs (check, dependency) in order; a check whose list became
// empty comes as one pair with a NULL dependency.
const setDependsOn = `UPDATE checks c SET depends_on = d.deps
FROM (SELECT u.id, COALESCE(array_agg(u.dep ORDER BY u.ord) FILTER (WHERE u.dep IS NOT NULL), '{}') AS deps
	FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS u(id, dep, ord) GROUP BY u.id) d
WHERE c.id = d.id`

// writeDependsOn resolves each row's Check.DependsOn (checked by
// config.Resolve) to check ids, once every check of the model has its id
// and row, and rewrites checks.depends_on where it differs from old (the
// stored lists, by check id).
func writeDependsOn(ctx context.Context, tx pgx.Tx, rows []*checkRow, old map[uuid.UUID][]uuid.UUID) error {
	byCheck := make(map[*config.Check]uuid.UUID, len(rows))
	for _, r := range rows {
		byCheck[r.Check] = r.ID
	}
	var ids, deps []pgtype.UUID
	for _, r := range rows {
		want := make([]uuid.UUID, 0, len(r.Check.DependsOn))
		for _, d := range r.Check.DependsOn {
			if id, ok := byCheck[d]; ok {
				want = append(want, id)
			}
		}
		if slices.Equal(want, old[r.ID]) {
			continue
		}
		self := pgtype.UUID{Bytes: r.ID, Valid: true}
		if len(want) == 0 {
			ids, deps = append(ids, self), append(deps, pgtype.UUID{})
			continue
		}
		for _, id := range want {
			ids, deps = append(ids, self), append(deps, pgtype.UUID{Bytes: id, Valid: true})
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, setDependsOn, ids, deps); err != nil {
		return fmt.Errorf("writing check dependencies: %w", err)
	}
	return nil
}
