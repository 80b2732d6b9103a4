package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/self"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/store"
)

// TestInternalQueueCheck: checks due in a zone no worker serves pile up;
// the internal engine's "queue" executor counts them and judges how late
// the oldest is. A private zone of the same name in another site is
// another queue.
func TestInternalQueueCheck(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	rc, err := riverclient.NewInsertClient(db.Pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO shared_zones (name) VALUES ('quiet') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	siteA, siteB := uuid.New(), uuid.New()
	var params []river.InsertManyParams
	for i := 0; i < 3; i++ {
		params = append(params, river.InsertManyParams{Args: ExecuteArgs{SiteID: siteA, CheckID: uuid.New(), Zone: "quiet"},
			InsertOpts: &river.InsertOpts{Queue: QueueFor(siteA, "quiet", true), ScheduledAt: time.Now().Add(-45 * time.Second)}})
	}
	params = append(params, river.InsertManyParams{Args: ExecuteArgs{SiteID: siteA, CheckID: uuid.New(), Zone: "lab", Private: true},
		InsertOpts: &river.InsertOpts{Queue: QueueFor(siteA, "lab", false), ScheduledAt: time.Now().Add(-200 * time.Second)}})
	if _, err := rc.InsertMany(ctx, params); err != nil {
		t.Fatal(err)
	}
	e := self.New(self.Options{Source: &store.SelfCheck{Pool: db.Pool}, Queue: &QueueStats{Pool: db.Pool}})
	run := func(site uuid.UUID, zone string, params map[string]string) *checks.Result {
		t.Helper()
		res, err := e.Execute(ctx, &checks.Request{SiteID: site.String(), Zone: zone, Executor: "queue", Parameters: params, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, tc := range []struct {
		name   string
		site   uuid.UUID
		zone   string
		params map[string]string
		status checks.Status
		output string
	}{
		{"shared zone, late", siteA, "quiet", nil, checks.StatusWarning, `WARNING: 3 checks waiting in zone "quiet", the oldest 4`},
		{"shared zone, same for every site", siteB, "quiet", map[string]string{"waiting_critical": "2"}, checks.StatusCritical, "3 checks waiting"},
		{"private zone, own site", siteA, "lab", nil, checks.StatusCritical, `1 check waiting in zone "lab", the oldest 20`},
		{"private zone, other site", siteB, "lab", nil, checks.StatusOK, `OK: 0 checks waiting in zone "lab"`},
		{"bad limit", siteA, "quiet", map[string]string{"late_warning": "soon"}, checks.StatusError, `parameter "late_warning": "soon"`},
	} {
		res := run(tc.site, tc.zone, tc.params)
		if res.Status != tc.status || !strings.Contains(res.Output, tc.output) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, res.Status, res.Output, tc.status, tc.output)
		}
	}
}
