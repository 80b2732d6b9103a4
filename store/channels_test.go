package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Issue 19 item 9: a site's reporting login may connect to the database,
// and PostgreSQL has no privilege for LISTEN or NOTIFY. It used to LISTEN
// on bergamot_checks and see every site's changed check ids as they
// changed, and NOTIFY to make every node reload. Bergamot's channels now
// carry a secret suffix it cannot read: it hears nothing on the names it
// can guess, and what it sends there reaches no node.
func TestReportingLoginCannotUseChannels(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	ts := tenants.NewStore(db.Pool)
	a, _, err := ts.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "a@alpha.example", Password: "Alpha-pass-1234"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ts.SignUp(ctx, tenants.SignUpInput{SiteName: "bravo", Email: "b@bravo.example", Password: "Bravo-pass-1234"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := db.ReportingConn(t, a)
	channels := []string{store.ChecksChannel, store.ResultsChannel, store.ConfigChannel, store.DowntimesChannel, gateway.KeysChannel}

	// It cannot learn the real names.
	if _, err := rc.Exec(ctx, `SELECT secret FROM channel_secret`); err == nil {
		t.Fatal("the reporting login read the channel secret")
	}
	if _, err := rc.Exec(ctx, `SELECT bergamot_channel('bergamot_checks')`); err == nil {
		t.Fatal("the reporting login called bergamot_channel")
	}
	for _, c := range channels {
		if _, err := rc.Exec(ctx, "LISTEN "+pgx.Identifier{c}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	// A node listens the way the live hub does.
	node, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Release()
	if err := store.Listen(ctx, node.Conn(), store.ChecksChannel); err != nil {
		t.Fatal(err)
	}

	// Bravo's check changes, announced as the processor does.
	changed := uuid.New()
	if err := tenants.InSite(tenants.WithSite(ctx, b.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.Announce(ctx, tx, b.ID, []uuid.UUID{changed})
	}); err != nil {
		t.Fatal(err)
	}
	if n := waitNotification(t, node.Conn(), 10*time.Second); n == nil {
		t.Fatal("the node did not hear the announcement")
	}
	if n := waitNotification(t, rc, time.Second); n != nil {
		t.Fatalf("the reporting login heard %s: %q", n.Channel, n.Payload)
	}

	// What the reporting login sends on the names it knows reaches no node.
	for _, c := range channels {
		if _, err := rc.Exec(ctx, `SELECT pg_notify($1, $2)`, c, b.ID.String()+":"+changed.String()); err != nil {
			t.Fatal(err)
		}
	}
	if n := waitNotification(t, node.Conn(), time.Second); n != nil {
		t.Fatalf("the node heard the reporting login on %s: %q", n.Channel, n.Payload)
	}
}

func waitNotification(t *testing.T, c *pgx.Conn, d time.Duration) *pgconn.Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n, err := c.WaitForNotification(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		t.Fatal(err)
	}
	return n
}
