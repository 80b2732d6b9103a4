package graph_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// statementCounter counts the statements the API's pool sends for HTTP
// requests (not those of the result processor or the live hub, which
// share the pool and poll while a slow request runs).
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if ctx.Value(http.ServerContextKey) != nil {
		c.n.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A page of 100 checks with each service's host and every check's state
// costs a fixed handful of statements, however many hosts the page spans
// (no N+1), and each service comes with its own host.
func TestCheckPageWithHostsIsBoundedQueries(t *testing.T) {
	counter := &statementCounter{}
	e := apitest.Start(t, apitest.Options{Tracer: counter})
	a := e.SignUp(t, "alpha")
	seedChecks(t, e, a.ID, 150, 3) // 600 checks; a page spans ~75 hosts
	const q = `{ checks(first: 100) { nodes { id name ... on Service { host { id name summary } } state { status output } } } }`
	var out struct {
		Checks struct {
			Nodes []struct {
				Name string
				Host *struct{ ID, Name, Summary string }
			}
		}
	}
	e.MustDo(t, a.Token, q, nil, &out) // warm: site and token caches, prepared statements
	best := int64(1 << 30)
	for range 3 { // the processor's idle poll may land inside one request
		before := counter.n.Load()
		e.MustDo(t, a.Token, q, nil, &out)
		best = min(best, counter.n.Load()-before)
	}
	services, hosts := 0, map[string]bool{}
	for _, n := range out.Checks.Nodes {
		if !strings.HasPrefix(n.Name, "svc-") {
			continue
		}
		services++
		if n.Host == nil || !strings.HasPrefix(n.Host.Name, "host-") || n.Host.Summary != "Host "+strings.TrimPrefix(n.Host.Name, "host-") {
			t.Fatalf("service %s came with host %+v", n.Name, n.Host)
		}
		hosts[n.Host.Name] = true
	}
	if len(out.Checks.Nodes) != 100 || services < 50 || len(hosts) < 20 {
		t.Fatalf("page has %d checks, %d services on %d hosts; the test needs a page spanning many hosts", len(out.Checks.Nodes), services, len(hosts))
	}
	// Authentication: the site, then BEGIN (with the site setting), the
	// token, COMMIT. The page: BEGIN, the list, the hosts, COMMIT: the hosts
	// are read in the page's transaction (Resolver.primeParents), not in a
	// second one by the loader.
	if best > 8 {
		t.Fatalf("a page of %d services on %d hosts cost %d statements; want at most 8", services, len(hosts), best)
	}
	t.Logf("page of %d services on %d hosts: %d statements", services, len(hosts), best)
}
