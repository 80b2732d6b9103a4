package monitor

import (
	"fmt"
	"slices"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// MaxEscalations is the number of escalation levels a check may have
// (State.Escalated is a 64-bit set).
const MaxEscalations = 64

// Escalation is one escalation level of a check's notifications
// (`<escalate after=... ignore=... renotify=...>`). Levels are identified
// by their index in the check's list.
type Escalation struct {
	// After is how long an alert must have been open for this level.
	After time.Duration
	// Ignore lists statuses that do not escalate at this level (e.g. an
	// alert that is only WARNING).
	Ignore []checks.Status
	// Renotify asks the notifier to send this level's notification to the
	// check's own contacts (and earlier levels') as well as the level's.
	// It does not change when the level is due.
	Renotify bool
}

// AlertInfo is what DueEscalations needs to know about an alert.
type AlertInfo struct {
	// Open is false once the alert has recovered.
	Open bool
	// Since is when the alert opened; Status its current hard status.
	Since  time.Time
	Status checks.Status
	// Quiet is why notifications are withheld now (see State.Quiet:
	// acknowledged, in downtime, ...); empty if they are not.
	Quiet string
	// Escalated has bit i set once level i has been notified.
	Escalated uint64
}

// Alert returns the AlertInfo for the check's open (or closed) alert.
func (s State) Alert() AlertInfo {
	quiet := s.Quiet()
	if quiet == "" && !s.Hard {
		quiet = QuietChanging
	}
	return AlertInfo{Open: s.AlertOpen, Since: s.AlertSince, Status: s.HardStatus, Quiet: quiet, Escalated: s.Escalated}
}

// DueEscalations returns, in order, the levels (indexes into rules) that
// are due now and not yet notified: the alert is open and not quiet, has
// been open for at least the level's After, and its status is not one the
// level ignores. Levels beyond MaxEscalations are never due.
func DueEscalations(alert AlertInfo, rules []Escalation, now time.Time) []int {
	if !alert.Open || alert.Quiet != "" {
		return nil
	}
	age := now.Sub(alert.Since)
	var due []int
	for i, r := range rules[:min(len(rules), MaxEscalations)] {
		if alert.Escalated&(1<<i) != 0 || age < r.After || slices.Contains(r.Ignore, alert.Status) {
			continue
		}
		due = append(due, i)
	}
	return due
}

// Escalate marks the escalation levels that are due and emits an
// EventEscalated (escalation notification) for each. Apply calls it with
// Settings.Escalations on every result; call it also from a periodic job so
// escalations are on time for checks that run rarely.
func Escalate(prev State, rules []Escalation, now time.Time) (State, []Event) {
	return escalate(prev, rules, now, nil)
}

func escalate(next State, rules []Escalation, now time.Time, evs []Event) (State, []Event) {
	for _, level := range DueEscalations(next.Alert(), rules, now) {
		next.Escalated |= 1 << level
		ev := notifyEvent(EventEscalated, now, next.HardStatus, next.HardStatus, true, NotifyEscalation, "")
		ev.Level = level
		evs = addEvent(evs, ev)
	}
	return next, evs
}

// Validate reports the first invalid setting, naming the configuration
// attribute.
func (s Settings) Validate() error {
	switch {
	case s.FailedAfter < 0:
		return fmt.Errorf("state failed-after: must be at least 0, got %d", s.FailedAfter)
	case s.RecoversAfter < 0:
		return fmt.Errorf("state recovers-after: must be at least 0, got %d", s.RecoversAfter)
	case s.FlapLow < 0 || s.FlapHigh < 0 || s.FlapLow > 100 || s.FlapHigh > 100:
		return fmt.Errorf("flapping thresholds: must be between 0 and 100 percent, got low %g high %g", s.FlapLow, s.FlapHigh)
	case s.FlapLow > s.FlapHigh:
		return fmt.Errorf("flapping thresholds: low %g is above high %g", s.FlapLow, s.FlapHigh)
	case s.Renotify < 0:
		return fmt.Errorf("renotify: must not be negative, got %s", s.Renotify)
	case len(s.Escalations) > MaxEscalations:
		return fmt.Errorf("escalations: at most %d levels, got %d", MaxEscalations, len(s.Escalations))
	}
	for i, e := range s.Escalations {
		if e.After < 0 {
			return fmt.Errorf("escalation %d: after must not be negative, got %s", i+1, e.After)
		}
	}
	return nil
}
