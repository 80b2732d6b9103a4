package nagios

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// escalationStates maps escalation_options letters to the Bergamot
// statuses they stand for (hosts: a down host is CRITICAL in Bergamot).
var escalationStates = map[string]map[byte][]string{
	"hostescalation":    {'d': {"critical", "warning", "unknown"}},
	"serviceescalation": {'w': {"warning"}, 'u': {"unknown"}, 'c': {"critical"}},
}

// maxEscalationMinutes bounds converted escalation delays (ten years).
const maxEscalationMinutes = 10 * 366 * 24 * 60

type escalation struct {
	after float64 // minutes
	el    *element
}

// escalations converts hostescalation and serviceescalation objects to
// <escalate> levels in the <notifications> of each target. Nagios
// escalates by notification number, Bergamot after a time: level
// first_notification is reached after first_notification_delay +
// (first_notification-1) x the target's notification_interval, both in
// interval_length units (minutes by default).
func (cv *converter) escalations() {
	levels := map[Ref][]escalation{}
	var order []Ref
	for _, t := range cv.c.Escalations {
		target := cv.targetObject(t.Ref)
		if target == nil {
			continue
		}
		after, ok := cv.escalationAfter(t.Obj, target, t.Ref)
		if !ok {
			continue
		}
		el := newEl("escalate", "after", formatMinutes(after))
		o := t.Obj
		what := o.Type + " definition"
		if tp := o.Get("escalation_period"); tp != "" {
			el.attr("time-period", bergamotName(tp))
		}
		el.attr("ignore", cv.escalationIgnore(o))
		n := el.add(newEl("notify"))
		n.attr("teams", joinNames(o.Get("contact_groups")))
		n.attr("contacts", joinNames(o.Get("contacts")))
		if len(n.attrs) == 0 {
			cv.warn(o.Pos, what, "", "has no contacts or contact_groups; not converted")
			continue
		}
		if _, seen := levels[t.Ref]; !seen {
			order = append(order, t.Ref)
		}
		levels[t.Ref] = append(levels[t.Ref], escalation{after, el})
	}
	for _, r := range order {
		ls := levels[r]
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].after < ls[j].after })
		x := cv.extra(r)
		for _, l := range ls {
			x.escalations = append(x.escalations, l.el)
		}
	}
}

func (cv *converter) targetObject(r Ref) *Object {
	if r.Service == "" {
		return cv.c.Hosts[r.Host]
	}
	return cv.svcObj[r]
}

// escalationAfter computes the escalation delay in minutes and warns
// where the time-based level differs from nagios4's numbered one.
func (cv *converter) escalationAfter(o, target *Object, r Ref) (float64, bool) {
	what := o.Type + " definition"
	first, ok := notificationNumber(o, "first_notification")
	if !ok || first < 1 {
		cv.warn(o.Pos, what, "first_notification", "is missing or not a positive number; not converted")
		return 0, false
	}
	interval, err1 := parseFloat(valueOr(target, "notification_interval"))
	delay, err2 := parseFloat(valueOr(target, "first_notification_delay"))
	if err1 != nil || err2 != nil || interval < 0 || delay < 0 {
		cv.warn(o.Pos, what, "", fmt.Sprintf("%s has an invalid notification_interval or first_notification_delay; not converted", r))
		return 0, false
	}
	if first > 1 && interval == 0 {
		cv.warn(o.Attrs["first_notification"].Pos, what, "first_notification", fmt.Sprintf("%s notifies only once (notification_interval 0), so nagios4 never sends notification %d; not converted", r, first))
		return 0, false
	}
	if last, ok := notificationNumber(o, "last_notification"); ok && last != 0 {
		cv.warn(o.Attrs["last_notification"].Pos, what, "last_notification", fmt.Sprintf("Bergamot keeps an escalation level until the alert ends; nagios4 stops after notification %d (approximation)", last))
	}
	if v := o.Get("notification_interval"); v != "" && v != valueOr(target, "notification_interval") {
		every := v + " interval units"
		if s, ok := cv.seconds(v); ok {
			every = formatSeconds(s)
		}
		cv.warn(o.Attrs["notification_interval"].Pos, what, "notification_interval", fmt.Sprintf("Bergamot notifies an escalation level once and keeps %s's own interval; nagios4 re-notifies every %s while escalated (approximation)", r, every))
	}
	// Nagios counts in interval_length units, Bergamot in minutes here.
	after := (delay + float64(first-1)*interval) * float64(cv.intervalLength()) / 60
	if after > maxEscalationMinutes {
		cv.warn(o.Attrs["first_notification"].Pos, what, "first_notification", fmt.Sprintf("%s would escalate after %.0f minutes, more than ten years; not converted", r, after))
		return 0, false
	}
	return after, true
}

// escalationIgnore maps escalation_options to the statuses the level
// ignores; recoveries always reach escalated contacts in Bergamot.
func (cv *converter) escalationIgnore(o *Object) string {
	a, ok := o.Attrs["escalation_options"]
	if !ok || a.Null {
		return ""
	}
	what := o.Type + " definition"
	states := escalationStates[o.Type]
	opts := map[byte]bool{}
	for _, l := range splitList(a.Value) {
		switch {
		case l == "a" || l == "all":
			return ""
		case len(l) == 1 && (states[l[0]] != nil || l == "r" || l == "u"):
			opts[l[0]] = true
		default:
			cv.warn(a.Pos, what, "escalation_options", fmt.Sprintf("unknown option '%s' ignored", l))
		}
	}
	if !opts['r'] {
		cv.warn(a.Pos, what, "escalation_options", "omits 'r', but Bergamot also sends recoveries to the contacts of a level reached (approximation)")
	}
	if o.Type == "hostescalation" && opts['u'] && !opts['d'] {
		cv.warn(a.Pos, what, "escalation_options", "option 'u' (unreachable) has no Bergamot equivalent: an unreachable host's alerts are held back; dropped")
	}
	return strings.Join(unselected(states, opts), ", ")
}

// unselected lists, in letter order, the statuses of states whose option
// letter is not in opts: what a level or an object ignores.
func unselected(states map[byte][]string, opts map[byte]bool) []string {
	var out []string
	for _, l := range sortedLetters(states) {
		if !opts[l] {
			out = append(out, states[l]...)
		}
	}
	return out
}

func sortedLetters(m map[byte][]string) []byte {
	var out []byte
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// formatMinutes renders minutes as a Bergamot interval.
func formatMinutes(m float64) string {
	if m == math.Trunc(m) {
		return strconv.FormatFloat(m, 'f', 0, 64) + "m"
	}
	return fmt.Sprintf("%ds", int(math.Round(m*60)))
}
