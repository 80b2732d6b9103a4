package graph_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

type availabilityOut struct {
	Seconds, Ok, Downtime, Blind, Pending float64
	Statuses                              []struct {
		Status            string
		Fraction, Seconds float64
	}
}

const availabilityFields = `seconds ok downtime blind pending statuses { status fraction seconds }`

// TestAvailabilityOverGraphQL: a hand-made timeline of web1/http (CRITICAL
// since before the window, OK after two of its ten hours) answers with
// the fractions; the group web adds its checks' time; site B cannot ask
// about site A's check; a question without a subject is INVALID.
func TestAvailabilityOverGraphQL(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "avail")
	e.Apply(t, a.Token, apitest.SiteXML("avail"))
	b := e.SignUp(t, "other")
	ids := e.CheckIDs(t, a.Token)
	http := ids["web1/http"]
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	e.Exec(t, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt)
		SELECT site_id, id, $2::timestamptz, 'CRITICAL', 'OK', false, true, 1 FROM checks WHERE id = $1::uuid
		UNION ALL SELECT site_id, id, $3::timestamptz, 'OK', 'CRITICAL', true, true, 1 FROM checks WHERE id = $1::uuid`,
		http, base.Add(-time.Hour), base.Add(2*time.Hour))
	vars := map[string]any{"id": http, "from": base, "to": base.Add(10 * time.Hour)}
	var out struct{ Availability availabilityOut }
	e.MustDo(t, a.Token, `query($id: ID, $from: Time!, $to: Time!) { availability(checkId: $id, from: $from, to: $to) { `+availabilityFields+` } }`, vars, &out)
	av := out.Availability
	if av.Seconds != 36000 || math.Abs(av.Ok-0.8) > 1e-9 || len(av.Statuses) != 2 || av.Statuses[0].Status != "OK" ||
		av.Statuses[1].Status != "CRITICAL" || math.Abs(av.Statuses[1].Fraction-0.2) > 1e-9 {
		t.Fatalf("availability of web1/http: %+v; want 10 h, OK 0.8 then CRITICAL 0.2", av)
	}

	web := "web" // groups are named (Group.name); groupId takes the name or the id
	e.MustDo(t, a.Token, `query($id: ID, $from: Time!, $to: Time!) { availability(groupId: $id, from: $from, to: $to) { `+availabilityFields+` } }`,
		map[string]any{"id": web, "from": base, "to": base.Add(10 * time.Hour)}, &out)
	// web1 and web2 are in the group (their services are not): 20
	// check-hours; web1 and web2 never changed, so they are wholly in
	// their current status (PENDING: never run).
	if out.Availability.Seconds != 72000 {
		t.Errorf("group web: %v check-seconds, want 72000 (two hosts, ten hours): %+v", out.Availability.Seconds, out.Availability)
	}

	r := e.Do(t, b.Token, `query($id: ID, $from: Time!, $to: Time!) { availability(checkId: $id, from: $from, to: $to) { ok } }`, vars)
	if r.Code() != "NOT_FOUND" {
		t.Errorf("site B asking about site A's check: %+v, want NOT_FOUND", r.Errors)
	}
	r = e.Do(t, a.Token, `query($from: Time!, $to: Time!) { availability(from: $from, to: $to) { ok } }`, map[string]any{"from": base, "to": base.Add(time.Hour)})
	if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, "exactly one of checkId and groupId") {
		t.Errorf("availability without a subject: %+v, want INVALID naming checkId and groupId", r.Errors)
	}
}

// TestRetentionOverGraphQL: the defaults, a change within the maximum,
// one beyond it refused with the limit named, and the other site
// unaffected.
func TestRetentionOverGraphQL(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "keep")
	b := e.SignUp(t, "keepb")
	type ret struct{ Raw, Rollup5m, Rollup1h, History, Alerts, Notifications int }
	var out struct{ Retention ret }
	e.MustDo(t, a.Token, `{ retention { raw rollup5m rollup1h history alerts notifications } }`, nil, &out)
	if out.Retention != (ret{14, 90, 730, 400, 400, 90}) {
		t.Fatalf("default retention: %+v", out.Retention)
	}
	var set struct{ SetRetention ret }
	e.MustDo(t, a.Token, `mutation { setRetention(input: {raw: 7, history: 30}) { raw rollup5m rollup1h history alerts notifications } }`, nil, &set)
	if set.SetRetention != (ret{7, 90, 730, 30, 400, 90}) {
		t.Fatalf("after setRetention: %+v", set.SetRetention)
	}
	r := e.Do(t, a.Token, `mutation { setRetention(input: {raw: 7, rollup1h: 9999}) { raw } }`, nil)
	if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, "retention 1h: 9999 days is outside 1 to 730") {
		t.Errorf("retention beyond the maximum: %+v", r.Errors)
	}
	e.MustDo(t, b.Token, `{ retention { raw rollup5m rollup1h history alerts notifications } }`, nil, &out)
	if out.Retention.Raw != 14 || out.Retention.History != 400 {
		t.Errorf("site B's retention changed with A's: %+v", out.Retention)
	}
}

// TestSLAsOverGraphQL: an <sla> on a group applied through the API is
// listed with its standing and the incidents that used its budget; the
// other site sees none of it.
func TestSLAsOverGraphQL(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "slas")
	b := e.SignUp(t, "slasb")
	e.Apply(t, a.Token, apitest.SiteXML("slas"))
	e.Apply(t, a.Token, `<bergamot site="slas"><group name="web"><summary>Web servers</summary><sla name="web-7d" target="99.5" period="7d"/></group></bergamot>`)
	ids := e.CheckIDs(t, a.Token)
	e.Exec(t, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt, output)
		SELECT site_id, id, now() - interval '3 hours', 'CRITICAL', 'OK', false, true, 1, 'down hard' FROM checks WHERE id = $1::uuid
		UNION ALL SELECT site_id, id, now() - interval '1 hour', 'OK', 'CRITICAL', true, true, 1, '' FROM checks WHERE id = $1::uuid`, ids["web1"])
	var out struct {
		Slas []struct {
			Name, Subject, SubjectKind string
			Target, Percent            float64
			Met                        bool
			UsedSeconds                float64
			Incidents                  []struct{ Check, Status, Output string }
		}
	}
	e.MustDo(t, a.Token, `{ slas { name subject subjectKind target percent met usedSeconds incidents { check status output } } }`, nil, &out)
	if len(out.Slas) != 1 {
		t.Fatalf("slas: %+v", out.Slas)
	}
	s := out.Slas[0]
	if s.Name != "web-7d" || s.Subject != "web" || s.SubjectKind != "group" || s.Target != 99.5 || math.Abs(s.UsedSeconds-7200) > 5 ||
		len(s.Incidents) != 1 || s.Incidents[0].Check != "web1" || s.Incidents[0].Status != "CRITICAL" || s.Incidents[0].Output != "down hard" {
		t.Errorf("web-7d: %+v; want two hours used by web1 CRITICAL", s)
	}
	e.MustDo(t, b.Token, `{ slas { name } }`, nil, &out)
	if len(out.Slas) != 0 {
		t.Errorf("site B sees site A's agreements: %+v", out.Slas)
	}
}
