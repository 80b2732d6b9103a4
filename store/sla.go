package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/reports"
)

// SLA is one <sla> agreement of the site with its standing over its
// current period (docs/reporting.md).
type SLA struct {
	ID, Name string
	// Subject is what it covers: "host", "host/service", or a group's
	// name; SubjectKind is the check kind or "group"; CheckID is set for
	// a check.
	Subject, SubjectKind string
	CheckID              *string
	Target               float64
	Period, TimeZone     string
	Downtime, Blind      string
	// From and To are the current period; the measurement runs to now.
	From, To     time.Time
	Availability *Availability
	Result       reports.Result
	// measuredAt is the now it was measured at.
	measuredAt time.Time
}

// Percent is Result.Percent (for the API).
func (s *SLA) Percent() float64 { return s.Result.Percent }

// Met is Result.Met.
func (s *SLA) Met() bool { return s.Result.Met }

// BudgetSeconds is Result.Budget.
func (s *SLA) BudgetSeconds() float64 { return s.Result.Budget }

// UsedSeconds is Result.Used.
func (s *SLA) UsedSeconds() float64 { return s.Result.Used }

// RemainingSeconds is Result.Remaining.
func (s *SLA) RemainingSeconds() float64 { return s.Result.Remaining }

// RemainingFraction is Result.RemainingFraction.
func (s *SLA) RemainingFraction() float64 { return s.Result.RemainingFraction }

// MeasuredAt is the moment the agreement was measured at.
func (s *SLA) MeasuredAt() time.Time { return s.measuredAt }

// slaRow is an agreement as stored.
type slaRow struct {
	id                          uuid.UUID
	name, subject, kind         string
	checkID                     *uuid.UUID
	group                       *string
	target                      float64
	period, downtime, blind, tz string
}

// SLAs measures the site's agreements at now (name order); only, when
// not empty, picks one by id.
func SLAs(ctx context.Context, tx pgx.Tx, now time.Time, only string) ([]*SLA, error) {
	rows, err := tx.Query(ctx, `SELECT s.id, s.name, COALESCE(s.group_name, CASE WHEN p.name IS NULL THEN c.name ELSE p.name || '/' || c.name END),
			CASE WHEN s.check_id IS NULL THEN 'group' ELSE c.kind END, s.check_id, s.group_name, s.target, s.period, s.downtime, s.blind, s.time_zone
		FROM slas s LEFT JOIN checks c ON c.id = s.check_id LEFT JOIN checks p ON p.id = c.parent_id
		WHERE $1 = '' OR s.id::text = $1 ORDER BY s.name, s.id`, only)
	if err != nil {
		return nil, fmt.Errorf("reading SLAs: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (slaRow, error) {
		var s slaRow
		err := r.Scan(&s.id, &s.name, &s.subject, &s.kind, &s.checkID, &s.group, &s.target, &s.period, &s.downtime, &s.blind, &s.tz)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading SLAs: %w", err)
	}
	out := make([]*SLA, 0, len(list))
	for _, s := range list {
		m, err := measureSLA(ctx, tx, s, now)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func measureSLA(ctx context.Context, tx pgx.Tx, s slaRow, now time.Time) (*SLA, error) {
	loc, err := time.LoadLocation(s.tz)
	if err != nil {
		loc = time.UTC
	}
	from, to, err := reports.Period(s.period, now, loc)
	if err != nil {
		return nil, err
	}
	out := &SLA{ID: s.id.String(), Name: s.name, Subject: s.subject, SubjectKind: s.kind, Target: s.target, Period: s.period,
		TimeZone: s.tz, Downtime: s.downtime, Blind: s.blind, From: from, To: to, measuredAt: now}
	members := 1
	end := now
	if end.After(to) {
		end = to
	}
	if s.checkID != nil {
		id := s.checkID.String()
		out.CheckID = &id
		out.Availability, err = readAvailability(ctx, tx, from, end, `SELECT category, seconds FROM reporting.check_availability($1, $2, $3)`, *s.checkID)
	} else {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM checks WHERE $1 = ANY (groups)`, *s.group).Scan(&members); err != nil {
			return nil, fmt.Errorf("reading SLA %s: %w", s.name, err)
		}
		out.Availability, err = readAvailability(ctx, tx, from, end, `SELECT category, seconds FROM reporting.group_availability($1, $2, $3)`, *s.group)
	}
	if err != nil {
		return nil, err
	}
	out.Result = reports.Evaluate(s.target, out.Availability.Seconds, statusUp, reports.Counting{Downtime: s.downtime, Blind: s.blind},
		to.Sub(from).Seconds()*float64(members))
	return out, nil
}

// statusUp: a status counts as up when Bergamot calls it OK (OK, INFO);
// WARNING and worse count as down.
func statusUp(category string) bool {
	st, err := checks.ParseStatus(category)
	return err == nil && st.OK()
}

// Incident is a span in which a check covered by an agreement was not
// up, within the agreement's period.
type Incident struct {
	CheckID, Check string
	Status         checks.Status
	From, To       time.Time
	Output         string
}

// SLAIncidents lists the spans, within sla's current period, in which a
// check it covers was in a status that counts as down, longest first
// (at most limit).
func SLAIncidents(ctx context.Context, tx pgx.Tx, sla *SLA, now time.Time, limit int) ([]*Incident, error) {
	end := now
	if end.After(sla.To) {
		end = sla.To
	}
	rows, err := tx.Query(ctx, `WITH subject AS (
			SELECT c.id, CASE WHEN p.name IS NULL THEN c.name ELSE p.name || '/' || c.name END AS name
			FROM slas s JOIN checks c ON c.id = s.check_id OR (s.check_id IS NULL AND s.group_name = ANY (c.groups))
			LEFT JOIN checks p ON p.id = c.parent_id WHERE s.id = $1
		), changes AS (
			SELECT h.check_id, h.at, h.status, h.output, LEAD(h.at, 1, $3) OVER (PARTITION BY h.check_id ORDER BY h.at, h.id) AS until
			FROM state_history h WHERE h.check_id IN (SELECT id FROM subject) AND h.at < $3
				AND h.at >= COALESCE((SELECT max(b.at) FROM state_history b WHERE b.check_id = h.check_id AND b.at <= $2), '-infinity')
		)
		SELECT ch.check_id, s.name, ch.status, GREATEST(ch.at, $2), LEAST(ch.until, $3), ch.output
		FROM changes ch JOIN subject s ON s.id = ch.check_id
		WHERE ch.until > $2 AND ch.status NOT IN ('OK', 'INFO', 'PENDING')
		ORDER BY LEAST(ch.until, $3) - GREATEST(ch.at, $2) DESC LIMIT $4`, sla.ID, sla.From, end, limit)
	if err != nil {
		return nil, fmt.Errorf("reading SLA incidents: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Incident, error) {
		var in Incident
		var st string
		if err := r.Scan(&in.CheckID, &in.Check, &st, &in.From, &in.To, &in.Output); err != nil {
			return nil, fmt.Errorf("reading SLA incidents: %w", err)
		}
		in.Status, _ = checks.ParseStatus(st)
		return &in, nil
	})
}
