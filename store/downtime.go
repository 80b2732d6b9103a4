package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// DowntimesChannel wakes the downtime sweep (jobs.DowntimeSweep) when a
// downtime is scheduled or cancelled, so that the services of a host and
// the notifications follow at once rather than at the next sweep.
const DowntimesChannel = "bergamot_downtimes"

// Forever is the end of a recurring downtime scheduled without an end.
var Forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// DowntimeKind says how a downtime begins and ends.
type DowntimeKind string

// The kinds of downtime.
const (
	// DowntimeFixed covers its check from start to end.
	DowntimeFixed DowntimeKind = "FIXED"
	// DowntimeFlexible begins at the first problem of its check between
	// start and end and lasts its duration from then (even past end).
	DowntimeFlexible DowntimeKind = "FLEXIBLE"
	// DowntimeRecurring covers its check whenever its time period
	// contains the moment, between start and end.
	DowntimeRecurring DowntimeKind = "RECURRING"
)

// MarshalGQL writes the kind as a GraphQL enum value.
func (k DowntimeKind) MarshalGQL(w io.Writer) {
	if k == "" {
		k = DowntimeFixed
	}
	_, _ = io.WriteString(w, strconv.Quote(string(k)))
}

// UnmarshalGQL reads a GraphQL enum value.
func (k *DowntimeKind) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	switch DowntimeKind(s) {
	case DowntimeFixed, DowntimeFlexible, DowntimeRecurring:
		*k = DowntimeKind(s)
		return nil
	}
	return errs.E(errs.Invalid, "unknown downtime kind %v (want FIXED, FLEXIBLE or RECURRING)", v)
}

const downtimeColumns = `d.id, d.check_id, d.starts_at, d.ends_at, d.comment, d.author, d.cancelled_at IS NOT NULL,
	CASE WHEN d.time_period IS NOT NULL THEN 'RECURRING' WHEN d.flexible THEN 'FLEXIBLE' ELSE 'FIXED' END,
	d.duration_s, d.time_period, d.started_at, downtime_in_effect(d, now())`

func scanDowntime(r pgx.CollectableRow) (*Downtime, error) { return scanDowntimeAfter(r) }

// scanDowntimeAfter reads a row of downtimeColumns after the destinations
// lead.
func scanDowntimeAfter(r pgx.Row, lead ...any) (*Downtime, error) {
	var d Downtime
	var kind string
	err := r.Scan(append(lead, &d.ID, &d.CheckID, &d.Start, &d.End, &d.Comment, &d.Author, &d.Cancelled, &kind, &d.Duration, &d.TimePeriod,
		&d.StartedAt, &d.InEffect)...)
	d.Kind = DowntimeKind(kind)
	return &d, err
}

// Cursor is the downtime's position in Downtimes' order, for after.
func (d *Downtime) Cursor() string {
	id, _ := uuid.Parse(d.ID)
	return encodeKey(timeKey[uuid.UUID]{At: d.Start, ID: id})
}

// downtimeList is the downtimes' list: newest first (by start, then id).
var downtimeList = &list[*Downtime]{what: "downtimes", cols: downtimeColumns, from: "downtimes d",
	order: []string{"d.starts_at", "d.id"}, scan: scanDowntimeAfter}

// downtimeConds are the conditions of the downtimes list: with active,
// only those not cancelled that are in effect now or may still begin.
func downtimeConds(active bool) *conds {
	var c conds
	if active {
		c.add("d.cancelled_at IS NULL AND (d.ends_at > now() OR downtime_in_effect(d, now()))")
	}
	return &c
}

// listDowntimes is Downtimes: a page of a check's downtimes (all of the
// site's for an empty checkID), newest first; active keeps those not
// cancelled that are in effect now or may still begin.
func listDowntimes(ctx context.Context, tx pgx.Tx, checkID string, active bool, first int, after string) ([]*Downtime, bool, error) {
	if err := DowntimesPage.Check(first); err != nil {
		return nil, false, err
	}
	c := downtimeConds(active)
	if checkID != "" {
		u, err := ParseID(checkID)
		if err != nil {
			return nil, false, err
		}
		c.add("d.check_id = ?", u)
	}
	if after != "" {
		k, err := decodeTimeKey[uuid.UUID](after)
		if err != nil {
			return nil, false, err
		}
		c.after("d.starts_at", "d.id", k)
	}
	return readPage(ctx, tx, downtimeList, c, first)
}

// DowntimePages reads, in one statement, each check's first page of
// downtimes: for each id of checkIDs what Downtimes(ctx, tx, id, active,
// first, "") gives. Checks without downtimes are missing from the answer.
func DowntimePages(ctx context.Context, tx pgx.Tx, checkIDs []uuid.UUID, active bool, first int) (map[uuid.UUID]Paged[*Downtime], error) {
	if err := DowntimesPage.Check(first); err != nil {
		return nil, err
	}
	return readPages(ctx, tx, downtimeList, downtimeConds(active), "d.check_id", checkIDs, first)
}

func downtimeByID(ctx context.Context, tx pgx.Tx, id string) (*Downtime, error) {
	rows, err := tx.Query(ctx, `SELECT `+downtimeColumns+` FROM downtimes d WHERE d.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("reading downtime: %w", err)
	}
	return pgx.CollectExactlyOneRow(rows, scanDowntime)
}

// ScheduleFlexibleDowntime plans a flexible downtime (Nagios semantics):
// it begins when the check has a problem at some moment between start and
// end (at once when it already has one and the window is open) and then
// lasts duration, even past end. A window that sees no problem expires
// without effect.
func ScheduleFlexibleDowntime(ctx context.Context, tx pgx.Tx, checkID, author, comment string, start, end time.Time,
	duration time.Duration) (*Downtime, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	if err := validateDowntime(comment, start, end); err != nil {
		return nil, err
	}
	if duration < time.Second {
		return nil, errs.E(errs.Invalid, "the flexible downtime's duration must be at least one second (got %s)", duration)
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	var problem bool
	if err := tx.QueryRow(ctx, `SELECT NOT ok FROM check_state WHERE check_id = $1`, id).Scan(&problem); err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	now, err := dbNow(ctx, tx)
	if err != nil {
		return nil, err
	}
	site, _ := tenants.SiteFrom(ctx)
	dID := uuid.New()
	var started *time.Time
	if problem && !now.Before(start) && !now.After(end) {
		started = &now
	}
	if _, err := tx.Exec(ctx, `INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, flexible, duration_s, started_at, comment, author)
		VALUES ($1,$2,$3,$4,$5,true,$6,$7,$8,$9)`, dID, site, id, start, end, int64(duration.Round(time.Second)/time.Second), started,
		comment, author); err != nil {
		return nil, fmt.Errorf("scheduling downtime: %w", err)
	}
	if started != nil {
		if _, err := flipDowntime(ctx, tx, id, st, true, now); err != nil {
			return nil, err
		}
	}
	return downtimeByID(ctx, tx, dID.String())
}

// ScheduleRecurringDowntime puts a check in downtime whenever the named
// time period of the site contains the moment (e.g. a period "sunday
// 02:00-04:00" for a weekly maintenance), from from (zero: now) until
// until (zero: until cancelled). The downtime sweep starts and ends each
// occurrence; an occurrence under way when it is scheduled starts at once.
func ScheduleRecurringDowntime(ctx context.Context, tx pgx.Tx, checkID, author, comment, period string, from, until time.Time) (*Downtime, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	now, err := dbNow(ctx, tx)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = now
	}
	if until.IsZero() {
		until = Forever
	}
	if err := validateDowntime(comment, from, until); err != nil {
		return nil, err
	}
	periods, err := TimePeriods(ctx, tx)
	if err != nil {
		return nil, err
	}
	p := periods[period]
	if p == nil {
		return nil, errs.E(errs.Invalid, "no time period named %q (define it with <time-period name=%q> in the configuration)", period, period)
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	var started *time.Time
	if !now.Before(from) && now.Before(until) && p.Contains(now, LookupIn(periods)) {
		started = &now
	}
	site, _ := tenants.SiteFrom(ctx)
	dID := uuid.New()
	if _, err := tx.Exec(ctx, `INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, time_period, started_at, comment, author)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, dID, site, id, from, until, period, started, comment, author); err != nil {
		return nil, fmt.Errorf("scheduling downtime: %w", err)
	}
	if started != nil {
		if _, err := flipDowntime(ctx, tx, id, st, true, now); err != nil {
			return nil, err
		}
	}
	return downtimeByID(ctx, tx, dID.String())
}

// dbNow is the transaction's time, the clock downtimes are judged by.
func dbNow(ctx context.Context, tx pgx.Tx) (time.Time, error) {
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return now, fmt.Errorf("reading the time: %w", err)
	}
	return now, nil
}

func validateDowntime(comment string, start, end time.Time) error {
	if !end.After(start) {
		return errs.E(errs.Invalid, "the downtime must end after it starts")
	}
	if end.Before(time.Now()) {
		return errs.E(errs.Invalid, "the downtime is entirely in the past")
	}
	if strings.TrimSpace(comment) == "" {
		return errs.E(errs.Invalid, "a downtime needs a comment saying why")
	}
	return nil
}

// flipDowntime starts (in) or ends a check's downtime in its state
// machine, saves and announces the state, and queues the event for the
// downtime sweep, which hands it to the event sinks (notifications). It
// does nothing when the state already agrees.
func flipDowntime(ctx context.Context, tx pgx.Tx, id uuid.UUID, st monitor.State, in bool, now time.Time) (monitor.State, error) {
	if st.InDowntime == in {
		return st, nil
	}
	prev := st
	if in {
		st, _ = monitor.StartDowntime(st, now)
	} else {
		st, _ = monitor.EndDowntime(st, now)
	}
	if err := saveMachine(ctx, tx, id, st); err != nil {
		return st, err
	}
	return st, QueueDowntimeEvent(ctx, tx, id, in, now, prev, st)
}

// QueueDowntimeEvent records that a check's downtime started (or ended) at
// at outside the downtime sweep, which hands the event to the event sinks
// once; it also wakes the sweep.
func QueueDowntimeEvent(ctx context.Context, tx pgx.Tx, check uuid.UUID, started bool, at time.Time, prev, next monitor.State) error {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return err
	}
	p, _ := json.Marshal(prev)
	n, _ := json.Marshal(next)
	if _, err := tx.Exec(ctx, `INSERT INTO downtime_outbox (site_id, check_id, started, at, previous, state) VALUES ($1,$2,$3,$4,$5,$6)`,
		site, check, started, at, p, n); err != nil {
		return fmt.Errorf("queueing downtime event: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), '')`, DowntimesChannel); err != nil {
		return fmt.Errorf("queueing downtime event: %w", err)
	}
	return nil
}

// downtimeStill reports whether any downtime of the check or its parent
// is in effect now.
func downtimeStill(ctx context.Context, tx pgx.Tx, check uuid.UUID) (bool, error) {
	var still bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM downtimes d JOIN checks c ON d.check_id IN (c.id, c.parent_id)
		WHERE c.id = $1 AND downtime_in_effect(d, now()))`, check).Scan(&still)
	if err != nil {
		return false, fmt.Errorf("reading downtimes: %w", err)
	}
	return still, nil
}
