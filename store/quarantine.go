package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PruneQuarantine deletes the transaction's site's set-aside results
// (result_quarantine) older than before, and all but the newest keep of
// the rest, so a flood of bad results cannot grow the table without bound.
// It returns how many rows it deleted.
func PruneQuarantine(ctx context.Context, tx pgx.Tx, before time.Time, keep int) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM result_quarantine WHERE quarantined_at < $1
		OR id < (SELECT min(id) FROM (SELECT id FROM result_quarantine ORDER BY id DESC LIMIT $2) newest)`, before, keep)
	if err != nil {
		return 0, fmt.Errorf("pruning set-aside results: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
