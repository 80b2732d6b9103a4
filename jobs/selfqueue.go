package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks/self"
)

// QueueStats answers the internal engine's "queue" executor from River's
// job table: the checks of a zone's queue that are due and not yet
// started (available, or scheduled/retryable and due), and how late the oldest is. A shared zone's queue is the
// operator's (every site's checks); a private zone's is the site's own.
type QueueStats struct {
	Pool *pgxpool.Pool
}

var _ self.QueueSource = (*QueueStats)(nil)

// Queue implements self.QueueSource.
func (q *QueueStats) Queue(ctx context.Context, site, zone string) (self.Queue, error) {
	var shared bool
	if err := q.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM shared_zones WHERE name = $1)`, zone).Scan(&shared); err != nil {
		return self.Queue{}, fmt.Errorf("reading the shared zones: %w", err)
	}
	id, err := uuid.Parse(site)
	if err != nil && !shared {
		return self.Queue{}, fmt.Errorf("zone %q is private and the check has no site", zone)
	}
	var out self.Queue
	var late float64
	err = q.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(EXTRACT(epoch FROM now() - min(scheduled_at)), 0)::float8
		FROM river_job WHERE queue = $1 AND kind = $2 AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()`,
		QueueFor(id, zone, shared), ExecuteArgs{}.Kind()).Scan(&out.Waiting, &late)
	if err != nil {
		return self.Queue{}, fmt.Errorf("reading the queue: %w", err)
	}
	out.Late = time.Duration(late * float64(time.Second))
	return out, nil
}
