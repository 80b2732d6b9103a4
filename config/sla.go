package config

import (
	"strconv"
	"strings"
	"time"
)

// SLA is a service level agreement on a check or a group, written
// <sla name="web" target="99.9" period="30d" downtime="excluded"
// blind="excluded" time-zone="Europe/Berlin"/> inside a host, service,
// trap, cluster, resource or group (docs/reporting.md).
type SLA struct {
	Name string
	// Target is the percentage of eligible time that must be up (0-100).
	Target float64
	// Period is rolling ("7d", "30d", "90d") or calendar ("month",
	// "quarter", in TimeZone).
	Period string
	// Downtime and Blind say how scheduled downtime and blind time count:
	// "excluded" (neither up nor down: the default), "up" or "down"
	// (Blind: "excluded" or "down" only; it never counts as up).
	Downtime, Blind string
	TimeZone        string
	Source          Source
}

// SLAPeriods are the periods an <sla> accepts.
var SLAPeriods = []string{"7d", "30d", "90d", "month", "quarter"}

// slas reads n's <sla> children; errors go to the sink naming the
// attribute that is wrong.
func (r *resolver) slas(n *Node, label string) []SLA {
	var out []SLA
	seen := map[string]bool{}
	for _, s := range n.ChildrenNamed("sla") {
		sla := SLA{Name: s.AttrValue("name"), Period: s.AttrValue("period"), Downtime: s.AttrValue("downtime"),
			Blind: s.AttrValue("blind"), TimeZone: s.AttrValue("time-zone"), Source: src(s)}
		if sla.Name == "" {
			r.sink.add(s, label, "<sla> needs a name")
		} else if seen[sla.Name] {
			r.sink.add(s, label, "<sla name=%q> appears twice", sla.Name)
		}
		seen[sla.Name] = true
		t, err := strconv.ParseFloat(strings.TrimSuffix(s.AttrValue("target"), "%"), 64)
		if err != nil || t <= 0 || t > 100 {
			r.sink.add(s, label, "<sla name=%q> target %q: want a percentage above 0 and at most 100, such as 99.9", sla.Name, s.AttrValue("target"))
		}
		sla.Target = t
		if sla.Period == "" {
			sla.Period = "30d"
		}
		if !contains(SLAPeriods, sla.Period) {
			r.sink.add(s, label, "<sla name=%q> period %q: want one of %s", sla.Name, sla.Period, strings.Join(SLAPeriods, ", "))
		}
		if sla.Downtime == "" {
			sla.Downtime = "excluded"
		}
		if !contains([]string{"excluded", "up", "down"}, sla.Downtime) {
			r.sink.add(s, label, "<sla name=%q> downtime %q: want excluded, up or down", sla.Name, sla.Downtime)
		}
		if sla.Blind == "" {
			sla.Blind = "excluded"
		}
		if !contains([]string{"excluded", "down"}, sla.Blind) {
			r.sink.add(s, label, "<sla name=%q> blind %q: want excluded or down (time Bergamot could not see never counts as up)", sla.Name, sla.Blind)
		}
		if sla.TimeZone == "" {
			sla.TimeZone = "UTC"
		}
		if _, err := time.LoadLocation(sla.TimeZone); err != nil {
			r.sink.add(s, label, "<sla name=%q> time-zone %q: not a known time zone (such as Europe/Berlin)", sla.Name, sla.TimeZone)
		}
		out = append(out, sla)
	}
	return out
}
