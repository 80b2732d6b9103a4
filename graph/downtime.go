package graph

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
)

// scheduleFlexibleDowntime schedules a flexible downtime lasting duration
// seconds once the check has a problem between start and end.
func (r *Resolver) scheduleFlexibleDowntime(ctx context.Context, checkID string, start, end time.Time, duration int, comment string) (*store.Downtime, error) {
	var out *store.Downtime
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.ScheduleFlexibleDowntime(ctx, tx, checkID, author(ctx), comment, start, end, time.Duration(duration)*time.Second)
		return err
	})
	return out, err
}

// scheduleRecurringDowntime schedules a downtime following a time period.
func (r *Resolver) scheduleRecurringDowntime(ctx context.Context, checkID, period, comment string, from, until *time.Time) (*store.Downtime, error) {
	var out *store.Downtime
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.ScheduleRecurringDowntime(ctx, tx, checkID, author(ctx), comment, period, deref(from, time.Time{}), deref(until, time.Time{}))
		return err
	})
	return out, err
}

// siteDowntimes lists the site's downtimes.
func (r *Resolver) siteDowntimes(ctx context.Context, active *bool, first *int, after *string) ([]*store.Downtime, error) {
	return listPage(ctx, r, store.DowntimesPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.Downtime, bool, error) {
		return store.Downtimes(ctx, tx, "", deref(active, false), first, after)
	})
}
