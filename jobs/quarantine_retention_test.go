package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Issue 19 item 9: set-aside results do not pile up forever: rows past the
// retention go, and a site keeps at most Keep of the rest; another site's
// rows are pruned by its own count, not the first site's.
func TestQuarantineRetention(t *testing.T) {
	r := newE2ERig(t, servicesXML("t", 1))
	siteB := r.addSite(servicesXML("b", 1))
	seed := func(site uuid.UUID, n int, age time.Duration) {
		err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO result_quarantine (site_id, check_id, result, error, received_at, quarantined_at)
				SELECT $1, gen_random_uuid(), '{}', 'seed', now(), now() - make_interval(secs => $3) FROM generate_series(1, $2)`, site, n, age.Seconds())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(site uuid.UUID) int {
		var n int
		err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM result_quarantine`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seed(r.site, 5, 40*24*time.Hour) // past the 30 days
	seed(r.site, 30, time.Minute)
	seed(siteB, 8, time.Minute)
	q := &QuarantineSweep{Pool: r.db.Pool, Logger: r.log, Keep: 10}
	n, err := q.RunOnce(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := count(r.site), count(siteB); a != 10 || b != 8 || n != 25 {
		t.Fatalf("after pruning: site A %d rows (want 10), site B %d (want 8), %d deleted (want 25)", a, b, n)
	}
}
