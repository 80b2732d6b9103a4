package jobs

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

// TestCheckJobChurnKeepsRiverIndexesBounded: every check job's arguments
// carry values no other job has (its slot and deadline), and river_job
// holds only the jobs in flight. Round after round of check jobs queued,
// finished and vacuumed away, the table's indexes must reuse their
// space, not grow with every job there ever was: River's GIN index on
// args did (1.75 MB a minute in the one-hour soak at 252 checks a second)
// until migrations dropped it.
func TestCheckJobChurnKeepsRiverIndexesBounded(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	owner := db.OwnerConn(t)
	sizes := make([]int64, 0, 5)
	for round := range 5 {
		// 20,000 check jobs as the scheduler queues them, then gone as
		// the hand-back deletes finished ones.
		if _, err := owner.Exec(ctx, `INSERT INTO river_job (kind, max_attempts, args)
			SELECT 'check', 1, jsonb_build_object('site_id', gen_random_uuid(), 'check_id', gen_random_uuid(),
				'slot', now() + make_interval(secs => $1 * 20000 + g), 'deadline', now() + make_interval(secs => $1 * 20000 + g + 60), 'zone', 'default')
			FROM generate_series(1, 20000) g`, round); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Exec(ctx, `DELETE FROM river_job WHERE kind = 'check'`); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Exec(ctx, `VACUUM river_job`); err != nil {
			t.Fatal(err)
		}
		var size int64
		if err := owner.QueryRow(ctx, `SELECT pg_indexes_size('river_job')`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size)
	}
	t.Logf("river_job's indexes after each round of 20,000 jobs: %v bytes", sizes)
	if grown := sizes[4] - sizes[1]; grown > 1<<20 {
		var idx []string
		rows, _ := owner.Query(ctx, `SELECT indexrelname || ' ' || pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes WHERE relname = 'river_job' ORDER BY pg_relation_size(indexrelid) DESC`)
		idx, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		t.Errorf("river_job's indexes grew by %d KB over three rounds of 20,000 jobs with nothing left in the table: %v", grown>>10, idx)
	}
}
