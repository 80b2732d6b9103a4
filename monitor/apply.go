package monitor

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Apply runs one check result through the state machine: attempts and
// soft/hard transitions, flap detection, dependencies, downtime,
// suppression, acknowledgement clearing, the check's alert and its
// notifications, reminders and escalations. It returns the new state and
// what happened, in order. It never fails and does not allocate unless an
// event happens.
//
// Transitions follow Bergamot: a result on the other side of ok/not-ok
// from the last hard state starts a soft transition; it becomes hard after
// FailedAfter consecutive not-ok results (RecoversAfter ok results on the
// way back), and only while the dependencies are not changing. A result on
// the same side as the last hard state is hard at once; so a change of
// problem status while hard (WARNING -> CRITICAL) is immediate and shows as
// GotWorse or Changed on the open alert.
func Apply(prev State, in Input, s Settings) (State, []Event) {
	now := in.Time
	next := prev
	next.LastCheck = now
	next.Output = in.Output
	next.Suppressed = in.Suppressed
	next.Encompassed = in.Dependencies == DepsDown

	var evs []Event
	if in.InDowntime != prev.InDowntime {
		next, evs = setDowntime(next, in.InDowntime, now, evs)
	}
	next, evs = detectFlapping(next, in.Result, s, now, evs)

	hardChanged := transition(&next, prev, in, s)
	if next.Status != prev.Status {
		next.LastStateChange = now
	}
	if next.Status != prev.Status || next.Hard != prev.Hard {
		evs = addEvent(evs, Event{Kind: EventStateChanged, Time: now, From: prev.Status, To: next.Status, Hard: next.Hard})
	}
	// Acknowledgements end with the problem (both kinds) or, normal ones,
	// when the hard status changes.
	if next.Acknowledged && (next.OK && next.HardOK || hardChanged && !next.AckSticky) {
		next.Acknowledged, next.AckSticky = false, false
		evs = addEvent(evs, Event{Kind: EventUnacknowledged, Time: now, From: prev.HardStatus, To: next.HardStatus, Hard: true})
	}

	n := len(evs)
	next, evs = alertEvents(next, prev, hardChanged, now, evs)
	if len(evs) == n {
		next, evs = remind(next, s, now, evs)
	}
	if len(s.Escalations) > 0 {
		next, evs = escalate(next, s.Escalations, now, evs)
	}
	return next, evs
}

// transition sets Status, OK, Hard, Attempt and the hard status from the
// result, and reports whether the hard status changed.
func transition(next *State, prev State, in Input, s Settings) bool {
	res := in.Result
	ok := res.OK()
	next.Status, next.OK = res, ok
	th := s.threshold(ok)
	if ok == prev.HardOK {
		// Same side as the steady state: hard at once (any transition
		// under way is abandoned).
		next.Hard, next.Attempt = true, th
	} else {
		attempt := 1
		if prev.OK == ok {
			attempt = prev.Attempt + 1
		}
		if attempt >= th && in.Dependencies != DepsChanging {
			next.Hard, next.Attempt = true, th
		} else {
			next.Hard, next.Attempt = false, min(attempt, th)
		}
	}
	if next.Hard && (res != prev.HardStatus || ok != prev.HardOK) {
		next.HardStatus, next.HardOK = res, ok
		next.LastHardChange = in.Time
		return true
	}
	return false
}

// alertEvents opens, updates or closes the check's alert to match its hard
// state. Opening is level-triggered: a hard problem with no open alert
// opens one as soon as the check is not encompassed.
func alertEvents(next, prev State, hardChanged bool, now time.Time, evs []Event) (State, []Event) {
	switch {
	case !next.HardOK && !next.AlertOpen && !next.Encompassed:
		next.AlertOpen, next.AlertSince = true, now
		next.LastNotified, next.Escalated = time.Time{}, 0
		ev := notifyEvent(EventHardProblem, now, prev.HardStatus, next.HardStatus, true, NotifyAlert, next.Quiet())
		if ev.Notify {
			next.LastNotified = now
		}
		evs = addEvent(evs, ev)
	case !next.HardOK && next.AlertOpen && hardChanged:
		kind := EventChanged
		if next.HardStatus.Worse(prev.HardStatus) {
			kind = EventGotWorse
		}
		ev := notifyEvent(kind, now, prev.HardStatus, next.HardStatus, true, NotifyAlert, next.Quiet())
		if ev.Notify {
			next.LastNotified = now
		}
		evs = addEvent(evs, ev)
	case next.HardOK && next.AlertOpen:
		quiet := next.quietExceptAck()
		if quiet == "" && next.LastNotified.IsZero() {
			quiet = QuietNotNotified
		}
		evs = addEvent(evs, notifyEvent(EventRecovered, now, prev.HardStatus, next.HardStatus, true, NotifyRecovery, quiet))
		next.AlertOpen, next.AlertSince = false, time.Time{}
		next.LastNotified, next.Escalated = time.Time{}, 0
	}
	return next, evs
}

// remind repeats the problem notification of a steady open alert: the
// first time it may go out (it was held back when the alert opened), then
// every s.Renotify.
func remind(next State, s Settings, now time.Time, evs []Event) (State, []Event) {
	if !next.AlertOpen || next.HardOK || !next.Hard || next.Quiet() != "" {
		return next, evs
	}
	due := next.LastNotified.IsZero() || (s.Renotify > 0 && now.Sub(next.LastNotified) >= s.Renotify)
	if !due {
		return next, evs
	}
	next.LastNotified = now
	return next, addEvent(evs, notifyEvent(EventReminder, now, next.HardStatus, next.HardStatus, true, NotifyAlert, ""))
}

// detectFlapping records the result in the flap history and starts or
// stops flapping with the configured hysteresis.
func detectFlapping(next State, res checks.Status, s Settings, now time.Time, evs []Event) (State, []Event) {
	next.FlapHistory, next.FlapCount = RecordFlap(next.FlapHistory, next.FlapCount, !res.OK())
	if s.NoFlapDetection {
		next.FlapPercent = 0
		if next.Flapping {
			next.Flapping = false
			evs = addEvent(evs, Event{Kind: EventFlappingStopped, Time: now, From: next.Status, To: res, Hard: next.Hard})
		}
		return next, evs
	}
	next.FlapPercent = FlapPercent(next.FlapHistory, next.FlapCount)
	low, high := s.flapThresholds()
	was := next.Flapping
	next.Flapping = flapping(was, next.FlapPercent, low, high)
	if next.Flapping == was {
		return next, evs
	}
	kind, typ := EventFlappingStarted, NotifyFlappingStart
	if was {
		kind, typ = EventFlappingStopped, NotifyFlappingStop
	}
	return next, addEvent(evs, notifyEvent(kind, now, next.Status, res, next.Hard, typ, quietFlap(next)))
}

// quietFlap: flapping start/stop notifications go out once, except for
// suppressed, in-downtime and encompassed checks.
func quietFlap(s State) string {
	switch {
	case s.Suppressed:
		return QuietSuppressed
	case s.InDowntime:
		return QuietDowntime
	case s.Encompassed:
		return QuietEncompassed
	}
	return ""
}
