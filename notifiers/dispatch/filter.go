package dispatch

import (
	"slices"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// problemType reports the types that the alerts setting governs.
func problemType(t notifiers.Type) bool {
	return t == notifiers.TypeAlert || t == notifiers.TypeEscalation
}

// statusType reports the types that "ignore" statuses apply to.
func statusType(t notifiers.Type) bool {
	return problemType(t) || t == notifiers.TypeRecovery
}

// allowed applies one <notifications> block (a check's or a contact's) to
// a notification of type typ and status on channel at now. It returns ""
// when the notification may go, else why not. inPeriod tells whether now
// is in a named time period.
func allowed(n config.Notifications, who string, typ notifiers.Type, status, channel string, now time.Time, inPeriod func(string, time.Time) bool) string {
	if typ == notifiers.TypeTest {
		return ""
	}
	switch {
	case !n.Enabled:
		return who + " notifications are disabled"
	case problemType(typ) && !n.Alerts:
		return who + " alert notifications are disabled"
	case typ == notifiers.TypeRecovery && !n.Recovery:
		return who + " recovery notifications are disabled"
	case typ == notifiers.TypeAcknowledgement && !n.Acknowledge:
		return who + " acknowledgement notifications are disabled"
	case statusType(typ) && ignores(n.Ignore, status):
		return who + " ignores status " + status
	case !inPeriod(n.TimePeriod, now):
		return who + " time period " + n.TimePeriod + " is not active"
	}
	idx := slices.IndexFunc(n.Engines, func(e config.NotificationEngine) bool { return strings.EqualFold(e.Engine, channel) })
	if idx < 0 {
		if !n.AllEngines {
			return who + " does not use channel " + channel
		}
		return ""
	}
	e := n.Engines[idx]
	switch {
	case !e.Enabled:
		return who + " has channel " + channel + " disabled"
	case problemType(typ) && !e.Alerts:
		return who + " has alerts disabled on " + channel
	case typ == notifiers.TypeRecovery && !e.Recovery:
		return who + " has recoveries disabled on " + channel
	case statusType(typ) && ignores(e.Ignore, status):
		return who + " ignores status " + status + " on " + channel
	case !inPeriod(e.TimePeriod, now):
		return who + " time period " + e.TimePeriod + " for " + channel + " is not active"
	}
	return ""
}

func ignores(list []string, status string) bool {
	for _, s := range list {
		if strings.EqualFold(strings.TrimSpace(s), status) {
			return true
		}
	}
	return false
}
