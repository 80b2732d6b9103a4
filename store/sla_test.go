package store_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const slaXML = `<bergamot site="t">
	<group name="web"><sla name="web-month" target="99" period="month"/></group>
	<host name="a" groups="web"><service name="http"><sla name="http-30d" target="99.9" period="30d" downtime="down" blind="down"/></service></host>
	<host name="b" groups="web"/>
</bergamot>`

// TestGroupSLAOverAScriptedTimeline: group web (hosts a and b) has a 99%
// monthly agreement. Measured on 11 November 2026 (240 hours into a
// 720-hour month, two checks):
//
//	a: CRITICAL since 22:00 on 31 October (an outage spanning the period
//	   start: 4 hours count, to 04:00), in downtime 5 November 00:00-06:00
//	   (a CRITICAL hour inside it does not count), OK otherwise.
//	b: OK since October, blind 7 November 00:00-03:00.
//
// Eligible: 480 - 6 (downtime) - 3 (blind) = 471 check-hours, 467 up:
// 99.1507%; budget 1% of 1440 = 14.4 h, 4 used, 10.4 left.
func TestGroupSLAOverAScriptedTimeline(t *testing.T) {
	s := newSite(t)
	s.mustApply(parse(t, slaXML))
	ids := s.checkIDs()
	a, b := &timeline{s: s, id: ids["host//a"]}, &timeline{s: s, id: ids["host//b"]}
	day := func(d int, h float64) time.Time {
		return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC).Add(hours(h))
	}
	a.change(day(1, -2), "OK", "CRITICAL").change(day(1, 4), "CRITICAL", "OK").
		change(day(5, 1), "OK", "CRITICAL").change(day(5, 2), "CRITICAL", "OK").
		downtime(day(5, 0), day(5, 6))
	b.change(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), "PENDING", "OK").gap(day(7, 0), day(7, 3))

	now := day(11, 0)
	var slas []*store.SLA
	var incidents []*store.Incident
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if slas, err = store.SLAs(ctx, tx, now, ""); err != nil {
			return err
		}
		for _, sla := range slas {
			if sla.Name == "web-month" {
				incidents, err = store.SLAIncidents(ctx, tx, sla, now, 10)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(slas) != 2 || slas[0].Name != "http-30d" || slas[1].Name != "web-month" {
		t.Fatalf("SLAs: %+v", slas)
	}
	if got := slas[0]; got.Subject != "a/http" || got.SubjectKind != "service" || got.Downtime != "down" || got.Blind != "down" {
		t.Errorf("service SLA: %+v", got)
	}
	web := slas[1]
	if web.Subject != "web" || web.SubjectKind != "group" || !web.From.Equal(day(1, 0)) || !web.To.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("group SLA: %+v", web)
	}
	r := web.Result
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6 }
	if !near(r.Percent, 100*467.0/471) || !near(r.Eligible, 471*3600) || !near(r.Budget, 14.4*3600) ||
		!near(r.Used, 4*3600) || !near(r.Remaining, 10.4*3600) || !near(r.RemainingFraction, 10.4/14.4) || !r.Met {
		t.Errorf("group SLA result: %+v\nwant 99.1507%%, eligible 471 h, budget 14.4 h, used 4 h, 10.4 h left, met (availability %v)", r, web.Availability.Seconds)
	}
	if len(incidents) != 2 || incidents[0].Check != "a" || !incidents[0].From.Equal(day(1, 0)) || !incidents[0].To.Equal(day(1, 4)) ||
		!incidents[1].From.Equal(day(5, 1)) || !incidents[1].To.Equal(day(5, 2)) {
		t.Errorf("incidents: want a CRITICAL 1 Nov 00:00-04:00 (clipped to the period) and 5 Nov 01:00-02:00, got:")
		for _, in := range incidents {
			t.Logf("  %s %s %v..%v", in.Check, in.Status, in.From, in.To)
		}
	}
}

// TestSLAConfigErrorsNameTheAttribute: a bad <sla> is refused with the
// attribute and what it wants, and nothing is applied.
func TestSLAConfigErrorsNameTheAttribute(t *testing.T) {
	s := newSite(t)
	res := s.apply(parse(t, `<bergamot site="t"><host name="a">
		<sla name="x" target="101" period="week" downtime="maybe" blind="up" time-zone="Mars/Olympus"/></host></bergamot>`))
	if res.OK {
		t.Fatal("a bad <sla> was applied")
	}
	all := res.Errors.Error()
	for _, want := range []string{`target "101": want a percentage above 0 and at most 100`, `period "week": want one of 7d, 30d, 90d, month, quarter`,
		`downtime "maybe": want excluded, up or down`, `blind "up": want excluded or down`, `time-zone "Mars/Olympus": not a known time zone`} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if n := s.count(`SELECT count(*) FROM checks`); n != 0 {
		t.Errorf("%d checks applied from a refused configuration", n)
	}
}

// TestServiceSLAExcludesItsHostsDowntime: a 99% 30-day agreement on
// service a/http, downtime excluded. Over the 720 hours before now, host
// a is in downtime for 10 hours, during 5 of which the service is
// CRITICAL; the service is CRITICAL for one more hour outside it.
// Eligible 710 h, 709 up: 99.8592%; budget 7.2 h, 1 h used, 6.2 h left.
// Without migration 000057 the host's downtime did not count for the
// service: 714 of 720 h up, 6 h used.
func TestServiceSLAExcludesItsHostsDowntime(t *testing.T) {
	s := newSite(t)
	s.mustApply(parse(t, `<bergamot site="t">
	<host name="a"><service name="http"><sla name="http-30d" target="99" period="30d"/></service></host>
</bergamot>`))
	ids := s.checkIDs()
	host, http := &timeline{s: s, id: ids["host//a"]}, &timeline{s: s, id: ids["service/a/http"]}
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return now.Add(-30 * 24 * time.Hour).Add(hours(h)) }
	host.change(at(-100), "PENDING", "OK").downtime(at(100), at(110))
	http.change(at(-100), "PENDING", "OK").
		change(at(102), "OK", "CRITICAL").change(at(107), "CRITICAL", "OK").
		change(at(200), "OK", "CRITICAL").change(at(201), "CRITICAL", "OK")
	var slas []*store.SLA
	if err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		slas, err = store.SLAs(ctx, tx, now, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(slas) != 1 || slas[0].Subject != "a/http" {
		t.Fatalf("SLAs: %+v", slas)
	}
	r := slas[0].Result
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6 }
	if !near(r.Percent, 100*709.0/710) || !near(r.Eligible, 710*3600) || !near(r.Budget, 7.2*3600) ||
		!near(r.Used, 3600) || !near(r.Remaining, 6.2*3600) || !r.Met {
		t.Errorf("service SLA under its host's downtime: %+v\nwant 99.8592%%, eligible 710 h, budget 7.2 h, used 1 h, 6.2 h left (availability %v)",
			r, slas[0].Availability.Seconds)
	}
}
