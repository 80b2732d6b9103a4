package monitor

import (
	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// ProcessedCheck is one check after the state machine ran: a result
// applied by the processor, or an operator action or sweep between results
// (downtime, escalation). It is what the event sinks (notifications,
// virtual checks) receive; they are called inside the transaction that
// writes the new State.
type ProcessedCheck struct {
	SiteID   uuid.UUID
	CheckID  uuid.UUID
	Kind     string
	AlertID  *uuid.UUID
	Previous State
	State    State
	// Result is the result applied, or a synthetic one (its Worker names
	// the sweep) carrying the check's output.
	Result *checks.Result
	Events []Event
}
