package jobs

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const passiveXML = `<bergamot site="test">
	<host name="backup-server">
		<service name="nightly-backup">
			<parameter name="freshness">1s</parameter>
			<state failed-after="1" recovers-after="1"/>
		</service>
		<service name="cron" >
			<parameter name="freshness">1s</parameter>
			<parameter name="freshness-status">CRITICAL</parameter>
			<state failed-after="1" recovers-after="1"/>
		</service>
		<service name="no-freshness"><state failed-after="1"/></service>
	</host>
</bergamot>`

func TestPassiveCheckGoesStaleAndRecovers(t *testing.T) {
	p := newPipeline(t, parseXML(t, passiveXML))
	fresh := &Freshness{Pool: p.db.Pool, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	p.push("backup-server", "nightly-backup", checks.StatusOK, "backup done")
	p.push("backup-server", "no-freshness", checks.StatusOK, "fine")
	p.expect("service", "nightly-backup", "backup-server", "OK", true, "backup done")

	// Nothing within the threshold: no stale result yet.
	if n, err := fresh.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("RunOnce right after a result = %d, %v; want 0", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	total := 0
	for total < 2 {
		n, err := fresh.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if time.Now().After(deadline) {
			t.Fatalf("only %d stale results after 10s", total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.process()
	st := p.expect("service", "nightly-backup", "backup-server", "UNKNOWN", true, "no result for ")
	if !strings.Contains(st.output, "expected one every 1s") || st.alerts != 1 {
		t.Fatalf("stale check: output %q, %d alerts; want the silence explained and one alert", st.output, st.alerts)
	}
	// Never heard from at all: silent since it was configured.
	p.expect("service", "cron", "backup-server", "CRITICAL", true, "expected one every 1s")
	p.expect("service", "no-freshness", "backup-server", "OK", true, "fine")

	// The silence is reported once (again after retry-every, 1m by default).
	if n, err := fresh.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("second RunOnce = %d, %v; want 0 (already reported)", n, err)
	}

	// A pushed result recovers it and closes the alert.
	p.push("backup-server", "nightly-backup", checks.StatusOK, "backup done")
	p.expect("service", "nightly-backup", "backup-server", "OK", true, "backup done")
	var open int
	err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM alerts a JOIN checks c ON c.id = a.check_id
			WHERE c.name = 'nightly-backup' AND a.recovered_at IS NULL`).Scan(&open)
	})
	if err != nil || open != 0 {
		t.Fatalf("open alerts after recovery: %d, %v", open, err)
	}

	// It goes silent again: two serve nodes report it exactly once.
	deadline = time.Now().Add(10 * time.Second)
	for {
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := 0
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := (&Freshness{Pool: p.db.Pool, Logger: fresh.Logger}).RunOnce(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if got > 1 {
			t.Fatalf("two nodes reported the silence %d times", got)
		}
		if got == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no second silence reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFreshnessDue(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	for _, tc := range []struct {
		name string
		c    passiveCheck
		want string // "" = not due
	}{
		{"fresh", passiveCheck{freshness: "25h", lastCheck: at(time.Hour), worker: "rest"}, ""},
		{"stale", passiveCheck{freshness: "25h", lastCheck: at(25*time.Hour + 3*time.Minute), worker: "rest"},
			"UNKNOWN no result for 25h3m; expected one every 25h"},
		{"status", passiveCheck{freshness: "90s", status: "warning", lastCheck: at(2 * time.Minute), worker: "rest"},
			"WARNING no result for 2m; expected one every 1m30s"},
		{"never", passiveCheck{freshness: "30", configured: now.Add(-31 * time.Minute)},
			"UNKNOWN no result for 31m; expected one every 30m"},
		{"reported", passiveCheck{freshness: "1h", lastCheck: at(2 * time.Hour), worker: "rest", fired: at(30 * time.Second)}, ""},
		{"repeat", passiveCheck{freshness: "1h", lastCheck: at(time.Minute), worker: FreshnessWorker, silentSince: at(3 * time.Hour),
			fired: at(2 * time.Minute)}, "UNKNOWN no result for 3h; expected one every 1h"},
		{"bad", passiveCheck{freshness: "soon", lastCheck: at(48 * time.Hour)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _, ok := tc.c.due(now)
			got := ""
			if ok {
				got = res.Status.String() + " " + res.Output
			}
			if got != tc.want {
				t.Fatalf("due = %q, want %q", got, tc.want)
			}
		})
	}
}
