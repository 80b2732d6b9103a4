package nagios

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// defaultIntervalLength is nagios4's interval_length when nagios.cfg does
// not set it: one interval unit is a minute.
const defaultIntervalLength = 60

// maxIntervalSeconds bounds converted intervals (ten years), well inside
// what a Go time.Duration holds.
const maxIntervalSeconds = maxEscalationMinutes * 60

// intervalLength is the number of seconds in one Nagios interval unit.
func (cv *converter) intervalLength() int {
	if cv.c.IntervalLength > 0 {
		return cv.c.IntervalLength
	}
	return defaultIntervalLength
}

// seconds converts a Nagios interval (a number of interval_length units,
// possibly fractional) to seconds; ok is false for a value that is not a
// non-negative number or exceeds ten years.
func (cv *converter) seconds(v string) (s float64, ok bool) {
	f, err := parseFloat(strings.TrimSpace(v))
	if err != nil || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	s = f * float64(cv.intervalLength())
	return s, s <= maxIntervalSeconds
}

// formatSeconds renders a positive number of seconds as a Bergamot
// interval: whole minutes as "Nm", anything else as whole seconds (at
// least 1s, since Bergamot rejects a zero interval).
func formatSeconds(s float64) string {
	s = math.Max(math.Round(s), 1)
	if math.Mod(s, 60) == 0 {
		return strconv.FormatFloat(s/60, 'f', 0, 64) + "m"
	}
	return strconv.FormatFloat(s, 'f', 0, 64) + "s"
}

// intervalAttr renders interval directive key of o, or nagios4's default
// for it, as a Bergamot interval for a <schedule> attribute. A value that
// is not a number is reported and yields "".
func (cv *converter) intervalAttr(o *Object, key, what string) string {
	v := valueOr(o, key)
	if v == "" {
		return ""
	}
	s, ok := cv.seconds(v)
	if !ok {
		cv.warn(o.Attrs[key].Pos, what, key, fmt.Sprintf("'%s' is not an interval of at most ten years; not converted", v))
		return ""
	}
	return formatSeconds(s)
}

// notificationStates maps the notification_options letters of hosts and
// services to the Bergamot statuses they stand for; like escalations, a
// down host is CRITICAL (or WARNING or UNKNOWN) in Bergamot.
var notificationStates = map[string]map[byte][]string{
	"host":    escalationStates["hostescalation"],
	"service": escalationStates["serviceescalation"],
}

// notifyValue is one attribute of a converted <notifications> element:
// the value computed from the Nagios directives, and the value that means
// the same to Bergamot as leaving the attribute out.
type notifyValue struct {
	attr, value, unset string
}

// notificationValues computes the <notifications> attributes of a host or
// service, in Bergamot's attribute order, and the warnings about what
// Bergamot does differently (their Object is left for the caller).
// Templates get renotify-every only when they set notification_interval;
// registered objects fall back to nagios4's default of 30 units.
func (cv *converter) notificationValues(o *Object, asTemplate bool) ([]notifyValue, []Warning) {
	var ws []Warning
	enabled := "yes"
	if o.Get("notifications_enabled") == "0" {
		enabled = "no"
	}
	tp := ""
	if v := o.Get("notification_period"); v != "" {
		tp = bergamotName(v)
	}
	alerts, recovery, ignore, ows := cv.notificationOptions(o)
	ws = append(ws, ows...)
	renotify := ""
	iv := o.Get("notification_interval")
	if iv == "" && !asTemplate {
		iv = defaults[o.Type]["notification_interval"]
	}
	if iv != "" {
		s, ok := cv.seconds(iv)
		switch {
		case !ok:
			ws = append(ws, Warning{Pos: o.Attrs["notification_interval"].Pos, Directive: "notification_interval",
				Msg: fmt.Sprintf("'%s' is not an interval of at most ten years; not converted", iv)})
		case s > 0:
			renotify = formatSeconds(s)
		}
		// 0: notify once, Bergamot's behaviour without renotify-every.
	}
	return []notifyValue{
		{"enabled", enabled, "yes"},
		{"time-period", tp, ""},
		{"alerts", alerts, "yes"},
		{"recovery", recovery, "yes"},
		{"ignore", ignore, ""},
		{"renotify-every", renotify, ""},
	}, ws
}

// notificationOptions maps notification_options to the alerts, recovery
// and ignore attributes of <notifications>. Bergamot always sends
// flapping and downtime notifications, so leaving out 'f' or 's' is
// reported.
func (cv *converter) notificationOptions(o *Object) (alerts, recovery, ignore string, ws []Warning) {
	a, ok := o.Attrs["notification_options"]
	if !ok || a.Null {
		return "yes", "yes", "", nil
	}
	states := notificationStates[o.Type]
	opts := map[byte]bool{}
	warn := func(msg string) {
		ws = append(ws, Warning{Pos: a.Pos, Directive: "notification_options", Msg: msg})
	}
	for _, l := range splitList(a.Value) {
		switch {
		case l == "a" || l == "all":
			for k := range states {
				opts[k] = true
			}
			opts['r'], opts['f'], opts['s'] = true, true, true
		case l == "n" || l == "none":
			opts = map[byte]bool{}
		case len(l) == 1 && (states[l[0]] != nil || (l == "r" || l == "f" || l == "s") || o.Type == "host" && l == "u"):
			opts[l[0]] = true
		default:
			warn(fmt.Sprintf("unknown option '%s' ignored", l))
		}
	}
	ig := unselected(states, opts)
	alerts, recovery = "yes", "yes"
	if len(ig) == len(unselected(states, nil)) {
		alerts, ig = "no", nil // no problem state notifies
	}
	if !opts['r'] {
		recovery = "no"
	}
	if o.Type == "host" && opts['u'] && !opts['d'] {
		warn("option 'u' (unreachable) has no Bergamot equivalent: an unreachable host's alerts are held back; dropped")
	}
	var missing []string
	if !opts['f'] {
		missing = append(missing, "'f' (flapping)")
	}
	if !opts['s'] {
		missing = append(missing, "'s' (downtime)")
	}
	if len(missing) > 0 {
		warn(fmt.Sprintf("omits %s, but Bergamot always sends flapping start/stop and downtime start/end notifications (approximation)", strings.Join(missing, " and ")))
	}
	return alerts, recovery, strings.Join(ig, ", "), ws
}

// notificationsElement renders the <notifications> of a host or service,
// or nil when it has nothing to say. An attribute is written when its
// value differs from Bergamot's default, or to override a different value
// that a template it extends would otherwise pass on: Bergamot merges
// templates attribute by attribute, so a Nagios object that notifies only
// once below a template that re-notifies gets renotify-every="0".
func (cv *converter) notificationsElement(o *Object, what string, asTemplate bool) *element {
	vals, ws := cv.notificationValues(o, asTemplate)
	for _, w := range ws {
		cv.warn(w.Pos, what, w.Directive, w.Msg)
	}
	inherited := map[string]bool{}
	for _, t := range cv.ancestors(o) {
		tv, _ := cv.notificationValues(t, true)
		for _, v := range tv {
			if v.value != v.unset {
				inherited[v.attr] = true
			}
		}
	}
	n := newEl("notifications")
	for _, v := range vals {
		if v.value != v.unset || inherited[v.attr] {
			if v.attr == "renotify-every" && v.value == "" {
				v.value = "0" // notify once, not the template's interval
			}
			n.attrs = append(n.attrs, [2]string{v.attr, v.value})
		}
	}
	if len(n.attrs) == 0 {
		return nil
	}
	return n
}

// ancestors lists every template o uses, directly or through other
// templates, each once.
func (cv *converter) ancestors(o *Object) []*Object {
	var out []*Object
	seen := map[*Object]bool{o: true}
	var visit func(*Object)
	visit = func(x *Object) {
		for _, u := range x.Use {
			t := cv.templateByName[o.Type+"\x00"+u]
			if t == nil || seen[t] {
				continue
			}
			seen[t] = true
			out = append(out, t)
			visit(t)
		}
	}
	visit(o)
	return out
}

// anyAncestor reports whether any template o uses satisfies f.
func (cv *converter) anyAncestor(o *Object, f func(*Object) bool) bool {
	for _, t := range cv.ancestors(o) {
		if f(t) {
			return true
		}
	}
	return false
}

// checkApproximations are the host and service directives Bergamot has no
// setting for, because it behaves one fixed way. Each function returns why
// a value behaves differently in Bergamot, or "" when Bergamot's fixed
// behaviour is the same, so nothing is lost.
var checkApproximations = map[string]func(cv *converter, o *Object, v string) string{
	"first_notification_delay": func(cv *converter, _ *Object, v string) string {
		s, ok := cv.seconds(v)
		switch {
		case !ok:
			return fmt.Sprintf("'%s' is not an interval of at most ten years; not converted", v)
		case s == 0:
			return ""
		}
		return fmt.Sprintf("delays the first notification by %s, but Bergamot notifies as soon as an alert is hard; not converted", formatSeconds(s))
	},
	"flap_detection_enabled": func(_ *converter, _ *Object, v string) string {
		if v != "0" {
			return ""
		}
		return fmt.Sprintf("turns flap detection off, but Bergamot always detects flapping (thresholds %g%%/%g%%) and holds notifications back while a check flaps; not converted", bergamotFlapLow, bergamotFlapHigh)
	},
	"low_flap_threshold":  flapThreshold("low", bergamotFlapLow),
	"high_flap_threshold": flapThreshold("high", bergamotFlapHigh),
	"flap_detection_options": func(_ *converter, o *Object, v string) string {
		opts := map[string]bool{}
		for _, l := range splitList(v) {
			opts[l] = true
		}
		if opts["a"] || opts["all"] {
			return ""
		}
		all := true
		for _, l := range flapStates[o.Type] {
			all = all && opts[l]
		}
		if all {
			return ""
		}
		return "limits the states that count towards flapping, but Bergamot counts every state change; not converted"
	},
}

// Bergamot's flap thresholds in percent (monitor.DefaultFlapLow and
// DefaultFlapHigh), which are also Debian's nagios.cfg defaults used when
// an object's own threshold is 0.
const (
	bergamotFlapLow  = 5.0
	bergamotFlapHigh = 20.0
)

// flapStates are the flap_detection_options letters naming every state.
var flapStates = map[string][]string{
	"host":    {"o", "d", "u"},
	"service": {"o", "w", "c", "u"},
}

func flapThreshold(which string, bergamot float64) func(*converter, *Object, string) string {
	return func(_ *converter, _ *Object, v string) string {
		f, err := parseFloat(strings.TrimSpace(v))
		if err == nil && (f == 0 || f == bergamot) {
			return "" // 0: nagios.cfg's global threshold, Debian's is Bergamot's
		}
		return fmt.Sprintf("is %s%%, but Bergamot's %s flap threshold is fixed at %g%%; not converted", v, which, bergamot)
	}
}

// reportApproximations warns about o's directives in checkApproximations
// whose values Bergamot cannot honour.
func (cv *converter) reportApproximations(o *Object, what string) {
	keys := make([]string, 0, len(checkApproximations))
	for k := range checkApproximations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := o.Attrs[k]
		if !ok || a.Null {
			continue
		}
		if msg := checkApproximations[k](cv, o, a.Value); msg != "" {
			cv.warn(a.Pos, what, k, msg)
		}
	}
}
