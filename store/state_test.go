package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestStateWriters: SaveState writes the machine and only the flag columns
// its change owns (an escalation leaves a configured suppression alone),
// always moves updated_at, and so makes a batch of StateWrites read before
// it fail with the caller's error instead of overwriting it.
func TestStateWriters(t *testing.T) {
	s := newSite(t)
	doc, err := config.Parse("t.xml", strings.NewReader(`<bergamot site="t"><host name="h1" suppressed="yes"/></bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	s.mustApply(doc)
	id := s.checkIDs()["host//h1"]
	in := func(fn func(ctx context.Context, tx pgx.Tx) error) {
		t.Helper()
		if err := tenants.InSite(s.ctx(), s.db.Pool, fn); err != nil {
			t.Fatal(err)
		}
	}
	var readAt time.Time
	in(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT updated_at FROM check_state WHERE check_id = $1`, id).Scan(&readAt)
	})

	// An escalation-style save (no mirrored flags): machine written,
	// suppressed column kept although the machine says false.
	in(func(ctx context.Context, tx pgx.Tx) error {
		st, err := store.LoadState(ctx, tx, id)
		if err != nil {
			return err
		}
		st.Escalated = 1
		return store.SaveState(ctx, tx, id, st, 0)
	})
	if n := s.count(`SELECT count(*) FROM check_state WHERE check_id = $1 AND suppressed AND (machine->>'Escalated')::int = 1`, id.String()); n != 1 {
		t.Errorf("escalation save: suppressed column lost or machine not written")
	}
	// An acknowledgement-style save mirrors its flags.
	in(func(ctx context.Context, tx pgx.Tx) error {
		st, err := store.LoadState(ctx, tx, id)
		if err != nil {
			return err
		}
		st.Acknowledged, st.InDowntime = true, true
		return store.SaveState(ctx, tx, id, st, store.MirrorAcknowledged|store.MirrorInDowntime)
	})
	if n := s.count(`SELECT count(*) FROM check_state WHERE check_id = $1 AND acknowledged AND in_downtime AND suppressed`, id.String()); n != 1 {
		t.Errorf("mirrored flags not written")
	}

	// The processor's write of a row read before those saves fails.
	changed := errors.New("changed meanwhile")
	write := func(readAt time.Time) error {
		var w store.StateWrites
		w.Add(id, monitor.State{Status: checks.StatusOK, OK: true, Hard: true}, &checks.Result{Status: checks.StatusOK, Output: "fine"}, time.Now(), readAt)
		b := &pgx.Batch{}
		w.Queue(b, changed)
		return tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.SendBatch(ctx, b).Close()
		})
	}
	if err := write(readAt); !errors.Is(err, changed) {
		t.Fatalf("stale write: %v, want %v", err, changed)
	}
	in(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT updated_at FROM check_state WHERE check_id = $1`, id).Scan(&readAt)
	})
	if err := write(readAt); err != nil {
		t.Fatalf("fresh write: %v", err)
	}
	if n := s.count(`SELECT count(*) FROM check_state WHERE check_id = $1 AND status = 'OK' AND output = 'fine' AND perfdata = '[]'`, id.String()); n != 1 {
		t.Errorf("fresh write not applied")
	}
}
