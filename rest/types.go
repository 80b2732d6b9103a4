package rest

import (
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
)

type uuidT = uuid.UUID

// stateJSON is a check's state as the REST facade shows it: the GraphQL
// CheckState's field names.
type stateJSON struct {
	Status          checks.Status     `json:"status"`
	OK              bool              `json:"ok"`
	Hard            bool              `json:"hard"`
	Attempt         int               `json:"attempt"`
	Output          string            `json:"output"`
	LongOutput      string            `json:"longOutput,omitempty"`
	Perfdata        []checks.Perfdata `json:"perfdata"`
	LastCheck       *time.Time        `json:"lastCheck"`
	LastStateChange *time.Time        `json:"lastStateChange"`
	Flapping        bool              `json:"flapping"`
	Acknowledged    bool              `json:"acknowledged"`
	InDowntime      bool              `json:"inDowntime"`
	Suppressed      bool              `json:"suppressed"`
}

func stateOf(s *store.CheckState) *stateJSON {
	if s == nil {
		return nil
	}
	return &stateJSON{Status: s.Status, OK: s.OK, Hard: s.Hard, Attempt: s.Attempt, Output: s.Output, LongOutput: s.LongOutput,
		Perfdata: nonNil(s.Perfdata), LastCheck: s.LastCheck, LastStateChange: s.LastStateChange, Flapping: s.Flapping,
		Acknowledged: s.Acknowledged, InDowntime: s.InDowntime, Suppressed: s.Suppressed}
}

// alertJSON is an alert as the REST facade shows it.
type alertJSON struct {
	ID              string        `json:"id"`
	CheckID         string        `json:"checkId"`
	Status          checks.Status `json:"status"`
	Output          string        `json:"output"`
	OpenedAt        time.Time     `json:"openedAt"`
	UpdatedAt       time.Time     `json:"updatedAt"`
	RecoveredAt     *time.Time    `json:"recoveredAt"`
	Acknowledged    bool          `json:"acknowledged"`
	AcknowledgedAt  *time.Time    `json:"acknowledgedAt"`
	AcknowledgedBy  *string       `json:"acknowledgedBy"`
	EscalationLevel int           `json:"escalationLevel"`
}

func alertOf(a *store.Alert) *alertJSON {
	if a == nil {
		return nil
	}
	return &alertJSON{ID: a.ID, CheckID: a.CheckID, Status: a.Status, Output: a.Output, OpenedAt: a.OpenedAt, UpdatedAt: a.UpdatedAt,
		RecoveredAt: a.RecoveredAt, Acknowledged: a.Acknowledged(), AcknowledgedAt: a.AcknowledgedAt, AcknowledgedBy: a.AcknowledgedBy,
		EscalationLevel: a.EscalationLevel}
}
