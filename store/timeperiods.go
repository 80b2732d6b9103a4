package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config/timeperiod"
)

// This file is the one place that reads time periods back from the
// time_periods table (config apply writes them): for the scheduler, for
// recurring downtimes and for the notification pipeline.

// TimePeriods loads the site's time periods by name.
func TimePeriods(ctx context.Context, tx pgx.Tx) (map[string]*timeperiod.Period, error) {
	rows, err := tx.Query(ctx, `SELECT name, ranges, excludes, time_zone FROM time_periods`)
	if err != nil {
		return nil, fmt.Errorf("loading time periods: %w", err)
	}
	defer rows.Close()
	out := map[string]*timeperiod.Period{}
	for rows.Next() {
		var name, tz string
		var ranges, excludes []string
		if err := rows.Scan(&name, &ranges, &excludes, &tz); err != nil {
			return nil, fmt.Errorf("loading time periods: %w", err)
		}
		p := &timeperiod.Period{Name: name, Excludes: excludes}
		if loc, err := time.LoadLocation(tz); err == nil {
			p.Location = loc
		}
		for _, r := range ranges {
			pr, err := timeperiod.ParseRange(r)
			if err != nil {
				return nil, fmt.Errorf("time period %q: %w", name, err)
			}
			p.Ranges = append(p.Ranges, pr)
		}
		out[name] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading time periods: %w", err)
	}
	return out, nil
}

// LookupIn makes a timeperiod.Lookup over a set of periods.
func LookupIn(periods map[string]*timeperiod.Period) timeperiod.Lookup {
	return func(name string) *timeperiod.Period { return periods[name] }
}
