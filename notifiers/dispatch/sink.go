package dispatch

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Sink is the event sink of the notification pipeline (the result
// processor's, the downtime and escalation sweeps'): it queues a
// NotifyArgs job for every event that notifies, in the transaction that
// wrote the state. River may be an insert-only client.
type Sink struct {
	River *river.Client[pgx.Tx]
}

// HandleEvents inserts the notification jobs of c's events.
func (s *Sink) HandleEvents(ctx context.Context, tx pgx.Tx, c *monitor.ProcessedCheck) error {
	args := EventArgs(c)
	if len(args) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := s.River.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queueing notifications: %w", err)
	}
	return nil
}

// EventArgs converts the notifying events of a processed check into jobs.
func EventArgs(c *monitor.ProcessedCheck) []NotifyArgs {
	var out []NotifyArgs
	for _, ev := range c.Events {
		if !ev.Notify || ev.Type == monitor.NotifyNone {
			continue
		}
		typ := notifiers.Type(ev.Type.String())
		if !typ.Valid() {
			continue
		}
		a := NotifyArgs{Site: c.SiteID, Check: c.CheckID, Alert: c.AlertID, Type: typ, Status: ev.To.String(),
			Previous: ev.From.String(), Time: ev.Time, Level: ev.Level, Repeat: ev.Kind == monitor.EventReminder,
			Escalated: c.Previous.Escalated | c.State.Escalated}
		if c.Result != nil {
			a.Output, a.LongOutput = c.Result.Output, c.Result.LongOutput
		}
		switch typ {
		case notifiers.TypeRecovery:
			a.Since = c.Previous.AlertSince
		case notifiers.TypeAlert, notifiers.TypeEscalation, notifiers.TypeAcknowledgement:
			a.Since = c.State.AlertSince
		default:
			a.Since = c.State.LastStateChange
			if typ != notifiers.TypeFlappingStart && typ != notifiers.TypeFlappingStop {
				a.Alert = nil
			}
		}
		a.ID = notificationID(a)
		out = append(out, a)
	}
	return out
}

// notificationID is stable per event: an escalation level is notified once
// per alert, everything else once per alert (or check), type and time.
func notificationID(a NotifyArgs) string {
	base := a.Check.String()
	if a.Alert != nil {
		base = a.Alert.String()
	}
	if a.Type == notifiers.TypeEscalation {
		return fmt.Sprintf("%s/escalation/%d", base, a.Level)
	}
	if a.Type == notifiers.TypeRecovery {
		return base + "/recovery"
	}
	return fmt.Sprintf("%s/%s/%d", base, a.Type, a.Time.UnixNano())
}
