package jobs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

func servicesXML(site string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<bergamot site="%s"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">`, site)
	for i := range n {
		fmt.Fprintf(&b, `<service name="s%d"><check-command command="d"/><schedule every="1h"/></service>`, i)
	}
	b.WriteString(`</host></bergamot>`)
	return b.String()
}

// siteJobs counts the check jobs queued for site.
func (r *e2eRig) siteJobs(site uuid.UUID) int {
	r.t.Helper()
	var n int
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM river_job WHERE kind = 'check' AND args->>'site_id' = $1`, site.String()).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// Issue 19 item 4: one site's burst of due checks cannot starve another
// site's. Site A has 60 checks due (older than B's), site B 5. A scheduling
// pass shares its batch between the sites, and A never has more than its
// checks-in-flight limit queued or running; B's checks are queued at once.
func TestSchedulerIsFairAcrossSites(t *testing.T) {
	r := newE2ERig(t, servicesXML("t", 60))
	siteB := r.addSite(servicesXML("b", 5))
	// A's checks have been due longer than B's.
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() - CASE WHEN site_id = $1 THEN interval '1 minute' ELSE interval '1 second' END`, r.site); err != nil {
		t.Fatal(err)
	}
	lim := tenants.NewSiteLimits(r.db.Pool, nil)
	s := &Scheduler{Pool: r.db.Pool, River: r.rc, Logger: r.log, Batch: 20, Limits: lim}

	// One batch of 20 used to be A's 20 oldest: B got nothing.
	if _, err := s.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := r.siteJobs(r.site), r.siteJobs(siteB); b != 5 || a != 15 {
		t.Fatalf("first pass queued %d of A's and %d of B's checks; want 15 and all 5", a, b)
	}

	// A's own limit: at most 25 in flight; the rest wait, not skipped.
	if err := lim.Set(r.ctx, r.site, tenants.LimitChecksInFlight, 25); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a := r.siteJobs(r.site); a != 25 {
		t.Fatalf("site A has %d checks queued, want its checks-in-flight limit of 25", a)
	}
	var waiting int
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM check_schedule WHERE site_id = $1 AND next_run <= now()`, r.site).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != 35 {
		t.Fatalf("%d of A's checks still due, want 35 waiting for a place", waiting)
	}
	// A result frees a place: the oldest waiting check takes it.
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET in_flight_until = NULL WHERE check_id IN
		(SELECT check_id FROM check_schedule WHERE site_id = $1 AND in_flight_until IS NOT NULL LIMIT 3)`, r.site); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("pass with 35 waiting took %s", time.Since(start))
	if a := r.siteJobs(r.site); a != 28 {
		t.Fatalf("after 3 results site A has %d jobs, want 28", a)
	}
}
