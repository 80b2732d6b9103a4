package monitor

import (
	"errors"
	"time"
)

// ErrNoProblem is returned by Acknowledge for a check that is ok.
var ErrNoProblem = errors.New("check has no problem to acknowledge")

// Acknowledge marks the check's problem as known: problem notifications,
// reminders and escalations stop. A normal acknowledgement clears when the
// hard status changes (e.g. WARNING -> CRITICAL) or the check recovers; a
// sticky one only on recovery. Acknowledging an acknowledged check only
// updates stickiness and emits nothing. A check that is ok (neither its
// latest result nor its hard state is a problem) returns ErrNoProblem.
func Acknowledge(prev State, sticky bool, now time.Time) (State, []Event, error) {
	if prev.OK && prev.HardOK {
		return prev, nil, ErrNoProblem
	}
	next := prev
	next.AckSticky = sticky
	if prev.Acknowledged {
		return next, nil, nil
	}
	next.Acknowledged = true
	ev := notifyEvent(EventAcknowledged, now, prev.HardStatus, prev.HardStatus, prev.Hard, NotifyAcknowledgement, quietAdmin(next))
	return next, []Event{ev}, nil
}

// Unacknowledge removes an acknowledgement; problem reminders resume
// after the renotify interval. It emits nothing when there is none.
func Unacknowledge(prev State, now time.Time) (State, []Event) {
	if !prev.Acknowledged {
		return prev, nil
	}
	next := prev
	next.Acknowledged, next.AckSticky = false, false
	return next, []Event{{Kind: EventUnacknowledged, Time: now, From: prev.HardStatus, To: prev.HardStatus, Hard: prev.Hard}}
}

// StartDowntime marks the check (or its host) as in a downtime window and
// emits EventDowntimeStarted with a downtime-start notification. Call it
// when a window opens between results; Apply also follows
// Input.InDowntime. It emits nothing if the check is already in downtime.
func StartDowntime(prev State, now time.Time) (State, []Event) {
	if prev.InDowntime {
		return prev, nil
	}
	return setDowntime(prev, true, now, nil)
}

// EndDowntime is StartDowntime's counterpart. A problem whose notification
// was held back by the downtime is notified on the next result (a
// reminder).
func EndDowntime(prev State, now time.Time) (State, []Event) {
	if !prev.InDowntime {
		return prev, nil
	}
	return setDowntime(prev, false, now, nil)
}

func setDowntime(next State, in bool, now time.Time, evs []Event) (State, []Event) {
	next.InDowntime = in
	kind, typ := EventDowntimeStarted, NotifyDowntimeStart
	if !in {
		kind, typ = EventDowntimeEnded, NotifyDowntimeEnd
	}
	quiet := ""
	if next.Suppressed {
		quiet = QuietSuppressed
	}
	return next, addEvent(evs, notifyEvent(kind, now, next.Status, next.Status, next.Hard, typ, quiet))
}

// quietAdmin: acknowledgement notifications are withheld only for
// suppressed checks and during downtime.
func quietAdmin(s State) string {
	switch {
	case s.Suppressed:
		return QuietSuppressed
	case s.InDowntime:
		return QuietDowntime
	}
	return ""
}
