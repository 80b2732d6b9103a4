package riverclient_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type probeArgs struct {
	N int `json:"n"`
}

func (probeArgs) Kind() string { return "riverclient_probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	ran chan int
}

func (w *probeWorker) Work(ctx context.Context, job *river.Job[probeArgs]) error {
	w.ran <- job.Args.N
	return nil
}

// Issue 19 item 9: River's own channels (river_insert, river_control,
// river_leadership) had fixed names, and PostgreSQL has no privilege for
// LISTEN or NOTIFY. A site's reporting login heard every queue's name
// (sites' private zones are queue names) and its timing, and could NOTIFY
// River's control channel: {"action":"pause","queue":"*"} stopped every
// producer on every node, so no site's checks ran. With the channel secret
// on River's names too, it hears nothing and its pause reaches nobody,
// while River's own wake-ups still go out, on the secret names.
func TestReportingLoginCannotUseRiverChannels(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	ts := tenants.NewStore(db.Pool)
	a, _, err := ts.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "a@alpha.example", Password: "Alpha-pass-1234"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := db.ReportingConn(t, a)
	for _, c := range []string{"public.river_insert", "public.river_control", "public.river_leadership"} {
		if _, err := rc.Exec(ctx, "LISTEN "+pgx.Identifier{c}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}

	// The reporting login tells every producer to pause, as River's own
	// QueuePause would.
	if _, err := rc.Exec(ctx, `SELECT pg_notify('public.river_control', '{"action":"pause","queue":"*"}')`); err != nil {
		t.Fatal(err)
	}

	w := &probeWorker{ran: make(chan int, 10)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riverclient.NewDriver(db.Pool), &river.Config{
		Queues:            map[string]river.QueueConfig{"site_probe": {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: time.Second,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := client.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	}()
	// A node's connection hears River's wake-ups on the secret names.
	node, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Release()
	if err := store.Listen(ctx, node.Conn(), "public.river_insert"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)

	for i := 1; i <= 2; i++ {
		if _, err := client.Insert(ctx, probeArgs{N: i}, &river.InsertOpts{Queue: "site_probe"}); err != nil {
			t.Fatal(err)
		}
		// The pause sent after the producers started, too.
		if _, err := rc.Exec(ctx, `SELECT pg_notify('public.river_control', '{"action":"pause","queue":"*"}')`); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-w.ran:
			if n != i {
				t.Fatalf("job %d ran, want %d", n, i)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("job %d did not start within 20 s: the reporting login's pause stopped the queue", i)
		}
	}
	if n := wait(t, node.Conn(), 0, 10*time.Second); n == nil {
		t.Fatal("River's insert wake-up was not sent on the secret channel")
	}
	if n := wait(t, rc, rc.PgConn().PID(), time.Second); n != nil {
		t.Fatalf("the reporting login heard River on %s: %q", n.Channel, n.Payload)
	}
}

// wait returns the first notification c hears within d that another
// session than self sent, or nil.
func wait(t *testing.T, c *pgx.Conn, self uint32, d time.Duration) *pgconn.Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.Fatal(fmt.Errorf("waiting for a notification: %w", err))
		}
		if n.PID != self {
			return n
		}
	}
}
