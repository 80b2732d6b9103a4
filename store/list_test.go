package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Paging with keyset cursors returns every check exactly once, problems
// first in severity order.
func TestListChecksPagesProblemsFirst(t *testing.T) {
	s := newSite(t)
	var b strings.Builder
	b.WriteString(`<bergamot site="t"><command name="d" engine="dummy"/>`)
	for i := 0; i < 23; i++ {
		fmt.Fprintf(&b, `<host name="h%02d"><check-command command="d"/></host>`, i)
	}
	b.WriteString(`</bergamot>`)
	s.mustApply(parse(t, b.String()))
	ctx := s.ctx()
	// Give a few checks problem states directly.
	err := tenants.InSite(ctx, s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE check_state SET status = 'CRITICAL', ok = false WHERE check_id IN (SELECT id FROM checks WHERE name IN ('h03', 'h11'))`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE check_state SET status = 'WARNING', ok = false WHERE check_id IN (SELECT id FROM checks WHERE name = 'h07')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var order []*store.CheckRow
	after := ""
	for page := 0; page < 10; page++ {
		var p *store.Page
		err := tenants.InSite(ctx, s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			p, err = store.ListChecks(ctx, tx, nil, 5, after, page == 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 && p.Total != 23 {
			t.Fatalf("total %d, want 23", p.Total)
		}
		for _, n := range p.Nodes {
			if seen[n.ID] {
				t.Fatalf("check %s returned twice", n.Name)
			}
			seen[n.ID] = true
			order = append(order, n)
		}
		if !p.HasNext {
			break
		}
		after = p.EndCursor
	}
	if len(order) != 23 {
		t.Fatalf("paged through %d checks, want 23", len(order))
	}
	if order[0].State.Status != checks.StatusCritical || order[1].State.Status != checks.StatusCritical || order[2].State.Status != checks.StatusWarning {
		t.Fatalf("problems not first: %s %s %s", order[0].State.Status, order[1].State.Status, order[2].State.Status)
	}
	err = tenants.InSite(ctx, s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.ListChecks(ctx, tx, nil, 5, "not-a-cursor")
		if err == nil || !strings.Contains(err.Error(), "invalid cursor") {
			t.Fatalf("bad cursor: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
