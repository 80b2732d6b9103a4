package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// scheduleOf reads every check's schedule: next run and realign_to.
func (s *site) scheduleOf() map[uuid.UUID][2]*time.Time {
	s.t.Helper()
	out := map[uuid.UUID][2]*time.Time{}
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT check_id, next_run, realign_to FROM check_schedule`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var next time.Time
			var align *time.Time
			if err := rows.Scan(&id, &next, &align); err != nil {
				return err
			}
			out[id] = [2]*time.Time{&next, align}
		}
		return rows.Err()
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// New checks run within seconds of being configured, not at their stable
// slot up to an interval later; the slot they return to afterwards is the
// stable one. Checks already configured keep their schedule.
func TestNewChecksRunSoon(t *testing.T) {
	s := newSite(t)
	xml := func(hosts int) *config.Document {
		var b bytes.Buffer
		b.WriteString(`<bergamot site="t"><command name="dummy" engine="dummy"/>`)
		for i := range hosts {
			fmt.Fprintf(&b, `<host name="h%d"><check-command command="dummy"/><schedule every="1h"/><service name="svc"><check-command command="dummy"/><schedule every="1h"/></service></host>`, i)
		}
		b.WriteString(`</bergamot>`)
		doc, err := config.Parse("t.xml", &b)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	before := time.Now()
	s.mustApply(xml(50))
	window := store.FirstRunWindow(100)
	first := s.scheduleOf()
	if len(first) != 100 {
		t.Fatalf("%d schedules, want 100", len(first))
	}
	var latest time.Time
	for id, sch := range first {
		next, align := *sch[0], sch[1]
		stable := store.NextSlot(id, time.Hour, before)
		switch {
		case align == nil && next.Sub(stable).Abs() > time.Millisecond:
			t.Errorf("check %s runs at %v with nothing to realign to; its stable slot is %v", id, next, stable)
		case align == nil: // its stable slot comes first anyway
		case next.Before(before.Add(time.Second-10*time.Millisecond)) || next.After(time.Now().Add(time.Second+window)):
			t.Errorf("check %s first runs at %v, want within %v of the apply", id, next.Sub(before), time.Second+window)
		case align.Sub(stable).Abs() > time.Second || !next.Before(*align):
			t.Errorf("check %s realigns to %v, want its stable slot %v after its first run %v", id, align, stable, next)
		}
		if next.After(latest) {
			latest = next
		}
	}
	if latest.Sub(before) < window/2 {
		t.Errorf("100 new checks all first run within %v of the apply: not spread over the %v window", latest.Sub(before), window)
	}

	// One more host: only its two checks are new; the others keep their
	// schedule to the microsecond.
	s.mustApply(xml(51))
	second := s.scheduleOf()
	for id, sch := range first {
		if got := second[id]; !got[0].Equal(*sch[0]) {
			t.Errorf("check %s moved from %v to %v when another host was added", id, sch[0], got[0])
		}
	}
	fresh := 0
	for id, sch := range second {
		if _, ok := first[id]; !ok {
			fresh++
			if d := time.Until(*sch[0]); d > time.Second+store.FirstRunWindow(2) {
				t.Errorf("added check %s first runs in %v", id, d)
			}
		}
	}
	if fresh != 2 {
		t.Fatalf("%d new schedules, want 2", fresh)
	}
}
