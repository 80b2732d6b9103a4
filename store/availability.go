package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
)

// The availability categories beside the statuses (docs/reporting.md).
const (
	CategoryDowntime = "DOWNTIME" // a scheduled (or started flexible) downtime
	CategoryBlind    = "BLIND"    // no results for longer than three intervals
	CategoryPending  = "PENDING"  // not checked yet
)

// Availability is where the time of a check (or the check-time of a
// group) went over [From, To): seconds per status, plus downtime, blind
// and pending time, each instant counted once
// (reporting.check_availability).
type Availability struct {
	From, To time.Time
	Seconds  map[string]float64
}

// Total is the time accounted for, in seconds (check-seconds for a group).
func (a *Availability) Total() float64 {
	var t float64
	for _, s := range a.Seconds {
		t += s
	}
	return t
}

// Fraction is the share of the total spent in category (a status name or
// one of the Category constants); 0 when nothing was accounted for.
func (a *Availability) Fraction(category string) float64 {
	t := a.Total()
	if t == 0 {
		return 0
	}
	return a.Seconds[category] / t
}

// Categories lists the categories with time, in name order.
func (a *Availability) Categories() []string {
	out := make([]string, 0, len(a.Seconds))
	for c := range a.Seconds {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// maxAvailabilitySpan bounds one question: reports go back a few years.
const maxAvailabilitySpan = 5 * 366 * 24 * time.Hour

func checkSpan(from, to time.Time) error {
	if !to.After(from) {
		return errs.E(errs.Invalid, "availability: the interval is empty: from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > maxAvailabilitySpan {
		return errs.E(errs.Invalid, "availability: the interval from %s to %s is longer than five years", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return nil
}

// CheckAvailability computes the availability of one check of the
// transaction's site over [from, to) (clipped to now). A check the site
// does not have is NotFound.
func CheckAvailability(ctx context.Context, tx pgx.Tx, checkID string, from, to time.Time) (*Availability, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	if err := checkSpan(from, to); err != nil {
		return nil, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM checks WHERE id = $1)`, id).Scan(&exists); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	if !exists {
		return nil, errs.E(errs.NotFound, "availability: no check %s", checkID)
	}
	return readAvailability(ctx, tx, from, to, `SELECT category, seconds FROM reporting.check_availability($1, $2, $3)`, id)
}

// GroupAvailability is CheckAvailability over every check of a group,
// adding up check-seconds. group is the group's id or its name (the
// GraphQL Group type names groups by name).
func GroupAvailability(ctx context.Context, tx pgx.Tx, group string, from, to time.Time) (*Availability, error) {
	if err := checkSpan(from, to); err != nil {
		return nil, err
	}
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM groups WHERE name = $1 OR id::text = $1`, group).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "availability: no group %q", group)
	}
	if err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	return GroupAvailabilityByName(ctx, tx, name, from, to)
}

// GroupAvailabilityByName is GroupAvailability for a group's name.
func GroupAvailabilityByName(ctx context.Context, tx pgx.Tx, group string, from, to time.Time) (*Availability, error) {
	if err := checkSpan(from, to); err != nil {
		return nil, err
	}
	return readAvailability(ctx, tx, from, to, `SELECT category, seconds FROM reporting.group_availability($1, $2, $3)`, group)
}

func readAvailability(ctx context.Context, tx pgx.Tx, from, to time.Time, sql string, subject any) (*Availability, error) {
	rows, err := tx.Query(ctx, sql, subject, from, to)
	if err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	defer rows.Close()
	a := &Availability{From: from, To: to, Seconds: map[string]float64{}}
	for rows.Next() {
		var c string
		var s float64
		if err := rows.Scan(&c, &s); err != nil {
			return nil, fmt.Errorf("availability: %w", err)
		}
		a.Seconds[c] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	return a, nil
}

// CheckSample is one check's latest result as a metrics exporter shows
// it: its status and its perfdata values.
type CheckSample struct {
	ID, Kind, Host, Name string
	Status               checks.Status
	At                   *time.Time
	Perfdata             []checks.Perfdata
}

// LatestSamples lists every check of the transaction's site with its
// latest status and perfdata, by host and name.
func LatestSamples(ctx context.Context, tx pgx.Tx) ([]CheckSample, error) {
	rows, err := tx.Query(ctx, `SELECT c.id::text, c.kind, COALESCE(p.name, ''), c.name, s.status, s.last_check, s.perfdata
		FROM checks c JOIN check_state s ON s.check_id = c.id LEFT JOIN checks p ON p.id = c.parent_id
		ORDER BY COALESCE(p.name, c.name), p.name IS NOT NULL, c.name`)
	if err != nil {
		return nil, fmt.Errorf("reading latest samples: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CheckSample, error) {
		var s CheckSample
		var st string
		if err := r.Scan(&s.ID, &s.Kind, &s.Host, &s.Name, &st, &s.At, &s.Perfdata); err != nil {
			return s, fmt.Errorf("reading latest samples: %w", err)
		}
		s.Status, _ = checks.ParseStatus(st)
		return s, nil
	})
}
