package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestExecuteNowIsBoundedPerSite: executeNow jumps ahead of every site's
// scheduled checks, so one site may have at most ExecuteNowQueued of them
// waiting; past that (also when the calls race) it is refused with an
// error naming the limit, and another site is unaffected. Before, 200
// calls all queued ahead of everyone and other sites' checks went TIMEOUT.
func TestExecuteNowIsBoundedPerSite(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="s"><check-command command="d"/><schedule every="1h"/></service></host></bergamot>`)
	siteB := r.addSite(`<bergamot site="b"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="s"><check-command command="d"/><schedule every="1h"/></service></host></bergamot>`)
	now := func(site, id uuid.UUID) error {
		return tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return ExecuteNow(ctx, tx, r.rc, id, time.Minute)
		})
	}
	a := r.checkID("s")
	var mu sync.Mutex
	var ok, refused int
	var msg string
	var wg sync.WaitGroup
	for range 2 * ExecuteNowQueued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := now(r.site, a)
			mu.Lock()
			defer mu.Unlock()
			var e *errs.Error
			switch {
			case err == nil:
				ok++
			case errors.As(err, &e) && e.Kind == errs.Transient:
				refused++
				msg = err.Error()
			default:
				t.Errorf("executeNow: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != ExecuteNowQueued || refused != ExecuteNowQueued {
		t.Fatalf("%d queued, %d refused; want %d each", ok, refused, ExecuteNowQueued)
	}
	if !strings.Contains(msg, "limit execute-now-queued = 20") {
		t.Errorf("refusal %q does not name the limit", msg)
	}
	if err := now(siteB, r.stateIn(siteB, "s").id); err != nil {
		t.Errorf("site B's executeNow refused because of site A: %v", err)
	}
}
