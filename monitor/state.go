package monitor

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// State is everything the state machine remembers about one check between
// results. The result processor stores it (one row per check) and passes it
// back to Apply with the next result. All fields are plain values so the
// row is cheap to read and write.
type State struct {
	// Status is the status of the latest result; OK is Status.OK().
	Status checks.Status
	OK     bool
	// Hard reports whether the state is steady. A soft state is a
	// transition between ok and not-ok that has not yet reached its
	// failed-after / recovers-after threshold.
	Hard bool
	// Attempt counts consecutive results on the current side of ok/not-ok,
	// up to the threshold for that side; a hard state shows the threshold
	// (3/3). It is 0 before the first result.
	Attempt int
	// HardStatus and HardOK are the last steady (hard) status. Alerts follow
	// them, not the soft Status.
	HardStatus checks.Status
	HardOK     bool

	// LastCheck is the time of the latest result; LastStateChange the time
	// Status last changed; LastHardChange the time HardStatus last changed.
	LastCheck       time.Time
	LastStateChange time.Time
	LastHardChange  time.Time
	// Output is the latest result's status text.
	Output string

	// FlapHistory holds the last FlapCount (at most 21) results as bits,
	// bit 0 the newest; a set bit is a not-ok result.
	FlapHistory uint32
	FlapCount   int
	// FlapPercent is the weighted percent state change (Nagios algorithm)
	// and Flapping whether the check is currently flapping.
	FlapPercent float64
	Flapping    bool

	// Acknowledged is set by Acknowledge; AckSticky keeps the
	// acknowledgement across changes between problem statuses.
	Acknowledged bool
	AckSticky    bool
	// InDowntime: the check or its host is in a downtime window.
	// Suppressed: the check is suppressed (no notifications).
	// Encompassed: a dependency (the host, or a <depends> check) is down,
	// so this check's problem is part of that one and raises no alert.
	InDowntime  bool
	Suppressed  bool
	Encompassed bool

	// AlertOpen reports whether an alert is open for this check, since
	// AlertSince. LastNotified is when the last problem notification for
	// it was decided (zero: none yet). Escalated has bit i set once
	// escalation level i has been notified for the open alert.
	AlertOpen    bool
	AlertSince   time.Time
	LastNotified time.Time
	Escalated    uint64
}

// Problem reports whether the check is in a steady not-ok state.
func (s State) Problem() bool { return !s.HardOK }

// Quiet reports why a problem notification would not go out now, or "" if
// it would: suppressed, in downtime, encompassed, flapping or acknowledged.
func (s State) Quiet() string {
	if r := s.quietExceptAck(); r != "" {
		return r
	}
	if s.Acknowledged {
		return QuietAcknowledged
	}
	return ""
}

// quietExceptAck is Quiet without the acknowledgement test (recoveries and
// acknowledgement notifications ignore it).
func (s State) quietExceptAck() string {
	switch {
	case s.Suppressed:
		return QuietSuppressed
	case s.InDowntime:
		return QuietDowntime
	case s.Encompassed:
		return QuietEncompassed
	case s.Flapping:
		return QuietFlapping
	}
	return ""
}

// Reasons a notification is withheld (Event.Quiet).
const (
	QuietChanging     = "state changing"
	QuietSuppressed   = "suppressed"
	QuietDowntime     = "in downtime"
	QuietEncompassed  = "dependency down"
	QuietFlapping     = "flapping"
	QuietAcknowledged = "acknowledged"
	QuietNotNotified  = "problem was never notified"
)

// Initial returns the state of a check that has never run: hard, with the
// configured initial status (`<initially status=... output=...>`;
// Bergamot's default is PENDING, the zero Status) and empty history.
func Initial(status checks.Status, output string, now time.Time) State {
	return State{
		Status:          status,
		OK:              status.OK(),
		Hard:            true,
		HardStatus:      status,
		HardOK:          status.OK(),
		Output:          output,
		LastStateChange: now,
		LastHardChange:  now,
	}
}

// DepState summarises the check's dependencies (the host for a service, the
// <depends> checks for others) at the time of a result.
type DepState int

const (
	// DepsUp means no dependencies, or all are in a steady ok state.
	DepsUp DepState = iota
	// DepsChanging means at least one dependency is in a soft state and
	// none is down; the check may not become hard until they settle.
	DepsChanging
	// DepsDown means at least one dependency is in a steady not-ok state; the
	// check is Encompassed and raises no alert of its own.
	DepsDown
)

// String returns "up", "changing" or "down".
func (d DepState) String() string {
	switch d {
	case DepsUp:
		return "up"
	case DepsChanging:
		return "changing"
	case DepsDown:
		return "down"
	}
	return "DepState(?)"
}

// Settings are a check's state-change settings, from its configuration.
// The zero value is usable: thresholds of 0 mean 1, flap thresholds of 0
// mean the defaults (5 / 20), Renotify 0 means never repeat.
type Settings struct {
	// FailedAfter is the number of consecutive not-ok results before a
	// failure is hard (`<state failed-after>`); RecoversAfter the number of
	// consecutive ok results before a recovery is hard.
	FailedAfter   int
	RecoversAfter int
	// FlapLow and FlapHigh are the flap thresholds in percent: flapping
	// starts at >= FlapHigh and stops at <= FlapLow.
	FlapLow, FlapHigh float64
	// NoFlapDetection turns flap detection off.
	NoFlapDetection bool
	// Renotify repeats problem notifications this often while an alert is
	// open and not quiet; 0 notifies once.
	Renotify time.Duration
	// Escalations are checked on every result (see Escalate).
	Escalations []Escalation
}

// Default flap thresholds, those of Debian's nagios4 (percent).
const (
	DefaultFlapLow  = 5.0
	DefaultFlapHigh = 20.0
)

func (s Settings) failedAfter() int   { return max(s.FailedAfter, 1) }
func (s Settings) recoversAfter() int { return max(s.RecoversAfter, 1) }

func (s Settings) threshold(ok bool) int {
	if ok {
		return s.recoversAfter()
	}
	return s.failedAfter()
}

func (s Settings) flapThresholds() (low, high float64) {
	if s.FlapLow == 0 && s.FlapHigh == 0 {
		return DefaultFlapLow, DefaultFlapHigh
	}
	return s.FlapLow, s.FlapHigh
}

// Input is one check result together with the facts about the world the
// result processor looked up for it.
type Input struct {
	// Result and Output are the result's status and status text; Time is
	// when the check ran.
	Result checks.Status
	Output string
	Time   time.Time
	// Dependencies is the state of the check's dependencies now.
	Dependencies DepState
	// InDowntime: the check or its host is in a downtime window now.
	InDowntime bool
	// Suppressed: the check is suppressed now.
	Suppressed bool
}
