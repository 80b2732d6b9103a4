package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ExplainChart is the plan of the statement MetricsAt runs for this chart
// (EXPLAIN ANALYZE), for the scale benchmark: it shows which tables a
// chart reads. Test builds only.
func ExplainChart(ctx context.Context, tx pgx.Tx, checkID, label string, from, to time.Time, points int) (Resolution, string, error) {
	q, err := chartQuery(ctx, tx, checkID, label, from, to, points)
	if err != nil {
		return "", "", err
	}
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q.sql, q.args...)
	if err != nil {
		return "", "", fmt.Errorf("explaining a chart: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", "", fmt.Errorf("explaining a chart: %w", err)
	}
	return q.res, strings.Join(lines, "\n"), nil
}
