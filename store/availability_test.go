package store_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// timeline builds one check's history by hand.
type timeline struct {
	s  *site
	id uuid.UUID
}

// newCheck adds a check whose current status is status, in groups.
func newCheck(s *site, status string, groups ...string) *timeline {
	s.t.Helper()
	tl := &timeline{s: s, id: uuid.New()}
	if groups == nil {
		groups = []string{}
	}
	tl.exec(`INSERT INTO checks (id, site_id, kind, name, groups) VALUES ($1, $2, 'host', $3, $4)`, tl.id, s.id, "h"+tl.id.String()[:8], groups)
	tl.exec(`INSERT INTO check_state (check_id, site_id, status, ok) VALUES ($1, $2, $3, $3 = 'OK')`, tl.id, s.id, status)
	return tl
}

func (tl *timeline) exec(sql string, args ...any) {
	tl.s.t.Helper()
	err := tenants.InSite(tl.s.ctx(), tl.s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		tl.s.t.Fatal(err)
	}
}

// change records a state change at at from previous to status.
func (tl *timeline) change(at time.Time, previous, status string) *timeline {
	tl.exec(`INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt) VALUES ($1, $2, $3, $4, $5, $4 = 'OK', true, 1)`,
		tl.s.id, tl.id, at, status, previous)
	return tl
}

func (tl *timeline) downtime(from, to time.Time) *timeline {
	tl.exec(`INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author) VALUES (gen_random_uuid(), $1, $2, $3, $4, 'maintenance', 'test')`,
		tl.s.id, tl.id, from, to)
	return tl
}

func (tl *timeline) gap(from, to time.Time) *timeline {
	tl.exec(`INSERT INTO monitoring_gaps (site_id, check_id, from_at, to_at) VALUES ($1, $2, $3, $4)`, tl.s.id, tl.id, from, to)
	return tl
}

func (tl *timeline) availability(from, to time.Time) *store.Availability {
	tl.s.t.Helper()
	var a *store.Availability
	err := tenants.InSite(tl.s.ctx(), tl.s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		a, err = store.CheckAvailability(ctx, tx, tl.id.String(), from, to)
		return err
	})
	if err != nil {
		tl.s.t.Fatal(err)
	}
	return a
}

// wantHours compares a's seconds per category with hours (hand-computed).
func wantHours(t *testing.T, what string, a *store.Availability, hours map[string]float64) {
	t.Helper()
	for c, h := range hours {
		if got := a.Seconds[c] / 3600; math.Abs(got-h) > 1e-6 {
			t.Errorf("%s: %s %.4f h, want %.4f h (all: %v)", what, c, got, h, a.Seconds)
		}
	}
	for c, s := range a.Seconds {
		if _, ok := hours[c]; !ok {
			t.Errorf("%s: unexpected %s %.1f s (all: %v)", what, c, s, a.Seconds)
		}
	}
}

var base = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func hours(n float64) time.Duration { return time.Duration(n * float64(time.Hour)) }

// TestAvailabilityCountsTheStateBeforeTheInterval: CRITICAL since an hour
// before the window, OK two hours into it.
func TestAvailabilityCountsTheStateBeforeTheInterval(t *testing.T) {
	s := newSite(t)
	tl := newCheck(s, "OK").change(base.Add(-time.Hour), "OK", "CRITICAL").change(base.Add(2*time.Hour), "CRITICAL", "OK")
	wantHours(t, "outage spanning the start", tl.availability(base, base.Add(10*time.Hour)), map[string]float64{"CRITICAL": 2, "OK": 8})
	// The same with only the change inside the window kept (history
	// expired): its "previous" says what came before.
	tl2 := newCheck(s, "OK").change(base.Add(2*time.Hour), "CRITICAL", "OK")
	wantHours(t, "previous of the first change", tl2.availability(base, base.Add(10*time.Hour)), map[string]float64{"CRITICAL": 2, "OK": 8})
}

// TestAvailabilityOfChecksThatNeverChanged: one changed 40 days before the
// window, one never: each wholly in its status.
func TestAvailabilityOfChecksThatNeverChanged(t *testing.T) {
	s := newSite(t)
	old := newCheck(s, "WARNING").change(base.Add(-40*24*time.Hour), "OK", "WARNING")
	wantHours(t, "changed long before", old.availability(base, base.Add(24*time.Hour)), map[string]float64{"WARNING": 24})
	never := newCheck(s, "OK")
	wantHours(t, "never changed", never.availability(base, base.Add(24*time.Hour)), map[string]float64{"OK": 24})
}

// TestAvailabilityDowntimeBlindPending: a hand-computed ten hours.
//
//	0-1 PENDING (first result at 1h), 1-2 OK, 2-3 BLIND (gap), 3-5 OK,
//	5-6 CRITICAL, 6-8 DOWNTIME (over CRITICAL 6-7 and OK 7-8; a gap
//	7.5-8.5 inside it counts as downtime until 8), 8-8.5 BLIND, 8.5-10 OK.
func TestAvailabilityDowntimeBlindPending(t *testing.T) {
	s := newSite(t)
	tl := newCheck(s, "OK").
		change(base.Add(time.Hour), "PENDING", "OK").
		change(base.Add(5*time.Hour), "OK", "CRITICAL").
		change(base.Add(7*time.Hour), "CRITICAL", "OK").
		gap(base.Add(2*time.Hour), base.Add(3*time.Hour)).
		gap(base.Add(hours(7.5)), base.Add(hours(8.5))).
		downtime(base.Add(6*time.Hour), base.Add(8*time.Hour))
	a := tl.availability(base, base.Add(10*time.Hour))
	wantHours(t, "ten hours", a, map[string]float64{"PENDING": 1, "OK": 4.5, "BLIND": 1.5, "CRITICAL": 1, "DOWNTIME": 2})
	if f := a.Fraction("OK"); math.Abs(f-0.45) > 1e-9 {
		t.Errorf("OK fraction %v, want 0.45", f)
	}
}

// TestAvailabilityAcrossDST: a local calendar day in Europe/Berlin is 23
// hours on 29 March 2026 and 25 hours on 25 October 2026; an outage from
// 01:00 to 04:00 local time lasts 2 and 4 hours.
func TestAvailabilityAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t)
	for _, c := range []struct {
		day           time.Time
		total, outage float64
		name          string
	}{
		{time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), 23, 2, "spring forward"},
		{time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), 25, 4, "fall back"},
	} {
		from, to := c.day, c.day.AddDate(0, 0, 1)
		tl := newCheck(s, "OK").
			change(time.Date(from.Year(), from.Month(), from.Day(), 1, 0, 0, 0, berlin), "OK", "CRITICAL").
			change(time.Date(from.Year(), from.Month(), from.Day(), 4, 0, 0, 0, berlin), "CRITICAL", "OK")
		a := tl.availability(from, to)
		wantHours(t, c.name, a, map[string]float64{"CRITICAL": c.outage, "OK": c.total - c.outage})
	}
}

// TestAvailabilityOngoingSilenceIsBlind: a check every minute last heard
// of ten minutes ago is blind since then, up to now (not to the window's
// end in the future).
func TestAvailabilityOngoingSilenceIsBlind(t *testing.T) {
	s := newSite(t)
	now := time.Now()
	tl := newCheck(s, "OK").change(now.Add(-48*time.Hour), "PENDING", "OK")
	tl.exec(`UPDATE check_state SET last_check = $2 WHERE check_id = $1`, tl.id, now.Add(-10*time.Minute))
	tl.exec(`INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms) VALUES ($1, $2, now(), 60000)`, tl.id, s.id)
	a := tl.availability(now.Add(-time.Hour), now.Add(time.Hour))
	if b := a.Seconds["BLIND"]; b < 9*60 || b > 11*60 {
		t.Errorf("blind %v s, want about 600 (all: %v)", b, a.Seconds)
	}
	if tot := a.Total(); tot > 3660 {
		t.Errorf("accounted %v s of a window ending in the future: the future must not count", tot)
	}
}

// TestResultAfterSilenceRecordsAGap: the result writer closes a gap when
// a result comes more than three intervals after the last one.
func TestResultAfterSilenceRecordsAGap(t *testing.T) {
	s := newSite(t)
	tl := newCheck(s, "OK")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	tl.exec(`UPDATE check_state SET last_check = $2 WHERE check_id = $1`, tl.id, t0)
	tl.exec(`INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms) VALUES ($1, $2, now(), 60000)`, tl.id, s.id)
	write := func(at time.Time) {
		t.Helper()
		err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			var readAt time.Time
			if err := tx.QueryRow(ctx, `SELECT updated_at FROM check_state WHERE check_id = $1`, tl.id).Scan(&readAt); err != nil {
				return err
			}
			var w store.StateWrites
			w.Add(tl.id, monitor.State{Status: checks.StatusOK, OK: true, Hard: true}, &checks.Result{Status: checks.StatusOK}, at, readAt)
			b := &pgx.Batch{}
			w.Queue(b, errs.E(errs.Conflict, "changed"))
			return tx.SendBatch(ctx, b).Close()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(t0.Add(2 * time.Minute))  // within three intervals: no gap
	write(t0.Add(12 * time.Minute)) // ten minutes of silence
	var from, to time.Time
	n := s.count(`SELECT count(*) FROM monitoring_gaps WHERE check_id = $1`, tl.id.String())
	if n != 1 {
		t.Fatalf("%d gaps recorded, want 1", n)
	}
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT from_at, to_at FROM monitoring_gaps WHERE check_id = $1`, tl.id).Scan(&from, &to)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !from.Equal(t0.Add(2*time.Minute)) || !to.Equal(t0.Add(12*time.Minute)) {
		t.Errorf("gap %v..%v, want %v..%v", from, to, t0.Add(2*time.Minute), t0.Add(12*time.Minute))
	}
}

// TestGroupAvailabilityStaysInItsSite: group "web" in site A has two
// checks; site B's group of the same name, and its checks, never count in
// A's answer, and A cannot ask about B's check.
func TestGroupAvailabilityStaysInItsSite(t *testing.T) {
	a := newSite(t)
	newCheck(a, "OK", "web").change(base.Add(-time.Hour), "OK", "CRITICAL").change(base.Add(2*time.Hour), "CRITICAL", "OK")
	newCheck(a, "OK", "web")
	newCheck(a, "CRITICAL", "db")
	var bID uuid.UUID
	err := pgx.BeginFunc(context.Background(), a.db.Pool, func(tx pgx.Tx) error {
		b, err := tenants.CreateSite(context.Background(), tx, "b"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		bID = b.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &site{t: t, db: a.db, id: bID}
	bCheck := newCheck(b, "CRITICAL", "web")
	var got *store.Availability
	err = tenants.InSite(a.ctx(), a.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		got, err = store.GroupAvailabilityByName(ctx, tx, "web", base, base.Add(10*time.Hour))
		if err != nil {
			return err
		}
		_, err = store.CheckAvailability(ctx, tx, bCheck.id.String(), base, base.Add(time.Hour))
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("site A asking about site B's check: %v, want NotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantHours(t, "group web", got, map[string]float64{"CRITICAL": 2, "OK": 18})
}

// TestAvailability30dOfAnUnchangedCheck reproduces the old view's bug: a
// check whose last change is older than 30 days had ok_percent NULL.
func TestAvailability30dOfAnUnchangedCheck(t *testing.T) {
	s := newSite(t)
	tl := newCheck(s, "OK").change(time.Now().Add(-40*24*time.Hour), "PENDING", "OK")
	var pct *float64
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT ok_percent::float8 FROM reporting.availability_30d WHERE check_id = $1`, tl.id).Scan(&pct)
	})
	if err != nil {
		t.Fatal(err)
	}
	if pct == nil || *pct != 100 {
		t.Fatalf("ok_percent of a check OK for 40 days: %v, want 100", pct)
	}
}

// TestRecurringDowntimeCountsAsDowntime: a recurring (time-period)
// downtime whose occurrences the sweep started and ended counts as
// DOWNTIME, hand-computed over ten hours of OK:
//
//	0-1 OK, 1-3 DOWNTIME (an ended occurrence), 3-8 OK, 8-10 DOWNTIME (the
//	occurrence going on): OK 6 h, DOWNTIME 4 h.
//
// A second check's occurrence, started at 8 h and cancelled at 9 h,
// counts one hour. Before migration 000045 both were all OK.
func TestRecurringDowntimeCountsAsDowntime(t *testing.T) {
	s := newSite(t)
	recurring := func(tl *timeline) uuid.UUID {
		id := uuid.New()
		tl.exec(`INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author, time_period)
			VALUES ($1, $2, $3, $4, $5, 'nightly backup', 'test', 'nightly')`, id, s.id, tl.id, base.Add(-24*time.Hour), store.Forever)
		return id
	}
	sweep := func(fn func(ctx context.Context, tx pgx.Tx) error) {
		t.Helper()
		if err := tenants.InSite(s.ctx(), s.db.Pool, fn); err != nil {
			t.Fatal(err)
		}
	}
	tl := newCheck(s, "OK").change(base.Add(-48*time.Hour), "PENDING", "OK")
	d := recurring(tl)
	at := func(h float64) *time.Time { x := base.Add(hours(h)); return &x }
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.SetRecurringStarted(ctx, tx, d, at(1)) })
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.EndRecurringOccurrence(ctx, tx, d, *at(3)) })
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.SetRecurringStarted(ctx, tx, d, at(8)) })
	wantHours(t, "recurring downtime", tl.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 6, "DOWNTIME": 4})

	// Ending it twice records nothing more.
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.EndRecurringOccurrence(ctx, tx, d, *at(9)) })
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.EndRecurringOccurrence(ctx, tx, d, *at(9.5)) })
	wantHours(t, "ended twice", tl.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 7, "DOWNTIME": 3})

	tl2 := newCheck(s, "OK").change(base.Add(-48*time.Hour), "PENDING", "OK")
	d2 := recurring(tl2)
	sweep(func(ctx context.Context, tx pgx.Tx) error { return store.SetRecurringStarted(ctx, tx, d2, at(8)) })
	tl2.exec(`UPDATE downtimes SET cancelled_at = $2 WHERE id = $1`, d2, *at(9))
	wantHours(t, "cancelled occurrence", tl2.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 9, "DOWNTIME": 1})
}

// TestHostDowntimeCountsForItsServices: Nagios and Icinga semantics, a
// service whose host is in scheduled downtime is in downtime. Ten
// hand-computed hours of service h/http:
//
//	host h in downtime 2-5, the service itself 4.5-6; the service CRITICAL
//	3-4 (inside its host's downtime), OK otherwise; another host's
//	downtime (0-10) changes nothing for it.
//	=> OK 0-2 and 6-10 (6 h), DOWNTIME 2-6 (4 h), no CRITICAL.
//
// Without migration 000057 the service had OK 7.5 h, CRITICAL 1 h and only
// its own 1.5 h of downtime.
func TestHostDowntimeCountsForItsServices(t *testing.T) {
	s := newSite(t)
	host := newCheck(s, "OK").change(base.Add(-24*time.Hour), "PENDING", "OK")
	other := newCheck(s, "OK").change(base.Add(-24*time.Hour), "PENDING", "OK")
	service := func(parent *timeline, name string) *timeline {
		tl := &timeline{s: s, id: uuid.New()}
		tl.exec(`INSERT INTO checks (id, site_id, kind, name, parent_id) VALUES ($1, $2, 'service', $3, $4)`, tl.id, s.id, name, parent.id)
		tl.exec(`INSERT INTO check_state (check_id, site_id, status, ok) VALUES ($1, $2, 'OK', true)`, tl.id, s.id)
		return tl.change(base.Add(-24*time.Hour), "PENDING", "OK")
	}
	http := service(host, "http").
		change(base.Add(3*time.Hour), "OK", "CRITICAL").change(base.Add(4*time.Hour), "CRITICAL", "OK").
		downtime(base.Add(hours(4.5)), base.Add(6*time.Hour))
	host.downtime(base.Add(2*time.Hour), base.Add(5*time.Hour))
	other.downtime(base, base.Add(10*time.Hour))
	ssh := service(other, "ssh")

	wantHours(t, "service under its host's downtime", http.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 6, "DOWNTIME": 4})
	wantHours(t, "the host itself", host.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 7, "DOWNTIME": 3})
	wantHours(t, "a service of the other host", ssh.availability(base, base.Add(10*time.Hour)), map[string]float64{"DOWNTIME": 10})
	// A service's downtime is not its host's.
	wantHours(t, "the other host", other.availability(base, base.Add(10*time.Hour)), map[string]float64{"DOWNTIME": 10})
	lone := newCheck(s, "OK").change(base.Add(-24*time.Hour), "PENDING", "OK")
	svc := service(lone, "disk").downtime(base, base.Add(time.Hour))
	wantHours(t, "a host whose service is in downtime", lone.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 10})
	wantHours(t, "that service", svc.availability(base, base.Add(10*time.Hour)), map[string]float64{"OK": 9, "DOWNTIME": 1})
}
