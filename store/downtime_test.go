package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const downtimeSiteXML = `<bergamot site="t">
	<time-period name="never"><time-range>2001-01-01 00:00-01:00</time-range></time-period>
	<host name="h1"><service name="s1"/></host>
</bergamot>`

func TestDowntimeScheduling(t *testing.T) {
	s := newSite(t)
	doc, err := config.Parse("t.xml", strings.NewReader(downtimeSiteXML))
	if err != nil {
		t.Fatal(err)
	}
	s.mustApply(doc)
	ids := s.checkIDs()
	host, svc := ids["host//h1"].String(), ids["service/h1/s1"].String()
	if host == "00000000-0000-0000-0000-000000000000" || svc == "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("check ids: %v", ids)
	}
	now := time.Now()
	in := func(fn func(ctx context.Context, tx pgx.Tx) error) error {
		return tenants.InSite(s.ctx(), s.db.Pool, fn)
	}
	inDowntime := func(id string) bool {
		return s.count(`SELECT count(*) FROM check_state WHERE check_id = $1 AND in_downtime`, id) == 1
	}

	// Bad input is refused with a reason.
	for _, c := range []struct {
		name string
		fn   func(ctx context.Context, tx pgx.Tx) error
		want string
	}{
		{"zero duration", func(ctx context.Context, tx pgx.Tx) error {
			_, err := store.ScheduleFlexibleDowntime(ctx, tx, svc, "a", "c", now, now.Add(time.Hour), 0)
			return err
		}, "duration"},
		{"no comment", func(ctx context.Context, tx pgx.Tx) error {
			_, err := store.ScheduleFlexibleDowntime(ctx, tx, svc, "a", " ", now, now.Add(time.Hour), time.Hour)
			return err
		}, "comment"},
		{"unknown period", func(ctx context.Context, tx pgx.Tx) error {
			_, err := store.ScheduleRecurringDowntime(ctx, tx, svc, "a", "c", "weekends", time.Time{}, time.Time{})
			return err
		}, `no time period named "weekends"`},
		{"past", func(ctx context.Context, tx pgx.Tx) error {
			_, err := store.ScheduleRecurringDowntime(ctx, tx, svc, "a", "c", "never", now.Add(-2*time.Hour), now.Add(-time.Hour))
			return err
		}, "in the past"},
	} {
		err := in(c.fn)
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an invalid-input error mentioning %q", c.name, err, c.want)
		}
	}

	// A recurring downtime outside its period and a waiting flexible one
	// leave the check alone; both are listed as active.
	var flex *store.Downtime
	err = in(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := store.ScheduleRecurringDowntime(ctx, tx, svc, "a", "never", "never", time.Time{}, time.Time{}); err != nil {
			return err
		}
		var err error
		flex, err = store.ScheduleFlexibleDowntime(ctx, tx, svc, "a", "flex", now.Add(-time.Minute), now.Add(time.Hour), time.Hour)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inDowntime(svc) {
		t.Fatal("a recurring downtime outside its period or a waiting flexible one put the check in downtime")
	}
	var list []*store.Downtime
	_ = in(func(ctx context.Context, tx pgx.Tx) error {
		list, _, err = store.Downtimes(ctx, tx, svc, true, store.DowntimesPage.Default, "")
		return err
	})
	if err != nil || len(list) != 2 {
		t.Fatalf("active downtimes: %v, %v", list, err)
	}

	// Cancelling the service's own fixed downtime keeps it in downtime
	// while its host's is in effect.
	var own *store.Downtime
	err = in(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if own, err = store.ScheduleDowntime(ctx, tx, svc, "a", "own", now.Add(-time.Minute), now.Add(time.Hour)); err != nil {
			return err
		}
		_, err = store.ScheduleDowntime(ctx, tx, host, "a", "host", now.Add(-time.Minute), now.Add(time.Hour))
		return err
	})
	if err != nil || !own.InEffect || own.Kind != store.DowntimeFixed || !inDowntime(svc) {
		t.Fatalf("fixed downtime: %+v, %v", own, err)
	}
	if err := in(func(ctx context.Context, tx pgx.Tx) error { return store.CancelDowntime(ctx, tx, own.ID) }); err != nil {
		t.Fatal(err)
	}
	if !inDowntime(svc) {
		t.Fatal("cancelling the service's downtime ended it although its host's downtime is in effect")
	}
	if err := in(func(ctx context.Context, tx pgx.Tx) error { return store.CancelDowntime(ctx, tx, flex.ID) }); err != nil {
		t.Fatal(err)
	}
	// Every start and end made here waits in the outbox for the sweep.
	if n := s.count(`SELECT count(*) FROM downtime_outbox`); n != 2 {
		t.Fatalf("%d queued downtime events, want 2 (the service's and the host's start)", n)
	}
}
