package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

type downtimeOut struct {
	ID, CheckID, Kind string
	Duration          *int
	TimePeriod        *string
	StartedAt         *time.Time
	InEffect          bool
}

const downtimeFields = `id checkId kind duration timePeriod startedAt inEffect`

// TestFlexibleAndRecurringDowntimesOverGraphQL schedules both kinds over
// the API and lists them.
func TestFlexibleAndRecurringDowntimesOverGraphQL(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "dt")
	e.Apply(t, a.Token, apitest.SiteXML("dt"))
	today := strings.ToLower(time.Now().UTC().Weekday().String())
	e.Apply(t, a.Token, fmt.Sprintf(`<bergamot site="dt"><time-period name="today"><time-range>%s 00:00-24:00</time-range></time-period></bergamot>`, today))
	ids := e.CheckIDs(t, a.Token)
	disk, web2 := ids["web1/disk"], ids["web2"]

	var rec struct{ ScheduleRecurringDowntime downtimeOut }
	e.MustDo(t, a.Token, `mutation($id: ID!) { scheduleRecurringDowntime(checkId: $id, timePeriod: "today", comment: "backups") { `+downtimeFields+` } }`,
		map[string]any{"id": disk}, &rec)
	r := rec.ScheduleRecurringDowntime
	if r.Kind != "RECURRING" || r.TimePeriod == nil || *r.TimePeriod != "today" || !r.InEffect || r.StartedAt == nil {
		t.Fatalf("scheduleRecurringDowntime: %+v", r)
	}
	var st struct {
		Check struct{ State struct{ InDowntime bool } }
	}
	e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { inDowntime } } }`, map[string]any{"id": disk}, &st)
	if !st.Check.State.InDowntime {
		t.Fatal("a recurring downtime whose period contains now did not put the check in downtime")
	}

	var flex struct{ ScheduleFlexibleDowntime downtimeOut }
	e.MustDo(t, a.Token, `mutation($id: ID!, $s: Time!, $e: Time!) { scheduleFlexibleDowntime(checkId: $id, start: $s, end: $e, duration: 600, comment: "maybe") { `+downtimeFields+` } }`,
		map[string]any{"id": web2, "s": time.Now().Add(-time.Minute), "e": time.Now().Add(time.Hour)}, &flex)
	f := flex.ScheduleFlexibleDowntime
	if f.Kind != "FLEXIBLE" || f.Duration == nil || *f.Duration != 600 || f.InEffect || f.StartedAt != nil {
		t.Fatalf("scheduleFlexibleDowntime on a check without a problem: %+v; want it waiting", f)
	}

	var list struct{ Downtimes []downtimeOut }
	e.MustDo(t, a.Token, `{ downtimes(active: true) { `+downtimeFields+` } }`, nil, &list)
	kinds := map[string]string{}
	for _, d := range list.Downtimes {
		kinds[d.CheckID] = d.Kind
	}
	if len(list.Downtimes) != 2 || kinds[disk] != "RECURRING" || kinds[web2] != "FLEXIBLE" {
		t.Fatalf("downtimes(active: true): %+v", list.Downtimes)
	}

	for _, bad := range []struct{ q, want string }{
		{`mutation($id: ID!) { scheduleRecurringDowntime(checkId: $id, timePeriod: "nope", comment: "x") { id } }`, `no time period named "nope"`},
		{`mutation($id: ID!) { scheduleFlexibleDowntime(checkId: $id, start: "2030-01-01T00:00:00Z", end: "2030-01-02T00:00:00Z", duration: 0, comment: "x") { id } }`, "duration"},
		{`mutation($id: ID!) { scheduleFlexibleDowntime(checkId: $id, start: "2030-01-02T00:00:00Z", end: "2030-01-01T00:00:00Z", duration: 60, comment: "x") { id } }`, "must end after it starts"},
	} {
		resp := e.Do(t, a.Token, bad.q, map[string]any{"id": disk})
		if resp.Code() != "INVALID" || len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, bad.want) {
			t.Errorf("%s: got %+v, want INVALID mentioning %q", bad.q, resp.Errors, bad.want)
		}
	}
}
