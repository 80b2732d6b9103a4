package monitor

import (
	"fmt"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// EventKind says what happened to a check.
type EventKind int

// The event kinds. Alert events (HardProblem, GotWorse, Changed, Reminder,
// Recovered, Escalated) change or repeat the check's open alert.
const (
	// EventStateChanged: Status or hardness changed (soft or hard); goes to
	// the state history.
	EventStateChanged EventKind = iota + 1
	// EventHardProblem: the check is hard not-ok and an alert opens.
	EventHardProblem
	// EventGotWorse: the open alert's hard status became more severe.
	EventGotWorse
	// EventChanged: the open alert's hard status changed to one no worse.
	EventChanged
	// EventReminder: a repeat of the problem notification (renotify
	// interval passed, or the first notification was held back and can go
	// out now).
	EventReminder
	// EventRecovered: the check is hard ok again; the alert closes.
	EventRecovered
	// EventFlappingStarted and EventFlappingStopped: flap detection.
	EventFlappingStarted
	EventFlappingStopped
	// EventAcknowledged and EventUnacknowledged: an operator (un)acknowledged.
	EventAcknowledged
	EventUnacknowledged
	// EventDowntimeStarted and EventDowntimeEnded: a downtime window began
	// or ended for the check or its host.
	EventDowntimeStarted
	EventDowntimeEnded
	// EventEscalated: escalation level Event.Level is due.
	EventEscalated
)

var eventKindNames = [...]string{
	EventStateChanged:    "state-changed",
	EventHardProblem:     "hard-problem",
	EventGotWorse:        "got-worse",
	EventChanged:         "changed",
	EventReminder:        "reminder",
	EventRecovered:       "recovered",
	EventFlappingStarted: "flapping-started",
	EventFlappingStopped: "flapping-stopped",
	EventAcknowledged:    "acknowledged",
	EventUnacknowledged:  "unacknowledged",
	EventDowntimeStarted: "downtime-started",
	EventDowntimeEnded:   "downtime-ended",
	EventEscalated:       "escalated",
}

// String returns the kind's kebab-case name, e.g. "got-worse".
func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventKindNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventKindNames[k]
}

// NotificationType is the kind of notification an event would send.
type NotificationType int

// The notification types; NotifyNone for events that never notify.
const (
	NotifyNone NotificationType = iota
	NotifyAlert
	NotifyRecovery
	NotifyAcknowledgement
	NotifyFlappingStart
	NotifyFlappingStop
	NotifyDowntimeStart
	NotifyDowntimeEnd
	NotifyEscalation
)

var notificationTypeNames = [...]string{
	NotifyNone:            "none",
	NotifyAlert:           "alert",
	NotifyRecovery:        "recovery",
	NotifyAcknowledgement: "acknowledgement",
	NotifyFlappingStart:   "flapping-start",
	NotifyFlappingStop:    "flapping-stop",
	NotifyDowntimeStart:   "downtime-start",
	NotifyDowntimeEnd:     "downtime-end",
	NotifyEscalation:      "escalation",
}

// String returns the type's kebab-case name, e.g. "flapping-start".
func (t NotificationType) String() string {
	if t < 0 || int(t) >= len(notificationTypeNames) {
		return fmt.Sprintf("NotificationType(%d)", int(t))
	}
	return notificationTypeNames[t]
}

// Event is one thing that happened to a check, with the decision whether
// to notify about it.
type Event struct {
	Kind EventKind
	Time time.Time
	// From and To are the statuses before and after (for alert events the
	// hard statuses); Hard is the hardness after (for flapping events,
	// which come first, the hardness before the result).
	From, To checks.Status
	Hard     bool
	// Type is the notification this event sends, or would send if it were
	// not Quiet. NotifyNone for events that never notify.
	Type NotificationType
	// Notify is true when a notification job should be enqueued.
	Notify bool
	// Quiet says why a notification of Type was withheld (see the Quiet*
	// constants); empty when Notify is true or Type is NotifyNone.
	Quiet string
	// Level is the escalation level (index into Settings.Escalations) for
	// EventEscalated.
	Level int
}

// String formats the event for logs and test failures.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s->%s", e.Kind, e.From, e.To)
	if e.Hard {
		s += " hard"
	}
	if e.Kind == EventEscalated {
		s += fmt.Sprintf(" level=%d", e.Level)
	}
	switch {
	case e.Notify:
		s += " notify=" + e.Type.String()
	case e.Type != NotifyNone:
		s += fmt.Sprintf(" quiet=%s(%s)", e.Type, e.Quiet)
	}
	return s
}

// notifyEvent builds an event of type t that notifies unless quiet is set.
func notifyEvent(kind EventKind, now time.Time, from, to checks.Status, hard bool, t NotificationType, quiet string) Event {
	return Event{Kind: kind, Time: now, From: from, To: to, Hard: hard, Type: t, Notify: quiet == "", Quiet: quiet}
}

// addEvent appends e, giving a new list room for a few events at once so a
// result with several events allocates once.
func addEvent(evs []Event, e Event) []Event {
	if evs == nil {
		evs = make([]Event, 0, 4)
	}
	return append(evs, e)
}
