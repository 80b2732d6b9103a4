package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// report adds p50 and p99 of samples (milliseconds) to the benchmark.
func report(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		return float64(samples[min(int(q*float64(len(samples))), len(samples)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // latency percentiles say more than the mean
}

// seedChecks inserts hosts*perHost+hosts checks with states straight into
// the site's tables as the owner (applying a 100,000-check configuration
// through the API would dominate the benchmark's run time).
func seedChecks(b *testing.B, e *apitest.Env, site string, hosts, perHost int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	stmts := []string{
		`INSERT INTO checks (id, site_id, kind, name, summary, address, groups, engine)
			SELECT gen_random_uuid(), $1, 'host', 'host-' || i, 'Host ' || i, '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), ARRAY['g' || (i % 20)], 'dummy'
			FROM generate_series(1, $2::int) i`,
		`INSERT INTO checks (id, site_id, kind, name, summary, parent_id, engine)
			SELECT gen_random_uuid(), $1, 'service', 'svc-' || j, 'Service ' || j, h.id, 'dummy'
			FROM checks h, generate_series(1, $2::int) j WHERE h.site_id = $1 AND h.kind = 'host' AND h.name LIKE 'host-%'`,
		`INSERT INTO check_state (check_id, site_id, status, ok, hard, attempt, output, last_check, last_state_change)
			SELECT c.id, c.site_id, st, st = 'OK', true, 1, st || ': seeded result', now() - random() * interval '1 hour', now() - random() * interval '1 day'
			FROM checks c, LATERAL (SELECT CASE WHEN r < 0.02 THEN 'CRITICAL' WHEN r < 0.05 THEN 'WARNING' WHEN r < 0.06 THEN 'UNKNOWN' ELSE 'OK' END st
				FROM (SELECT random() + (c.id::text < '') ::int AS r) x) s
			WHERE c.site_id = $1 AND NOT EXISTS (SELECT 1 FROM check_state s WHERE s.check_id = c.id)`,
		`ANALYZE checks`, `ANALYZE check_state`,
	}
	for i, q := range stmts {
		var args []any
		switch i {
		case 0:
			args = []any{site, hosts}
		case 1:
			args = []any{site, perHost}
		case 2:
			args = []any{site}
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
}

// BenchmarkChecksQuery: a page of 100 checks with their host and state,
// in a site of 100,000 checks (2% CRITICAL, 3% WARNING, 1% UNKNOWN).
func BenchmarkChecksQuery(b *testing.B) {
	e := apitest.Start(b, apitest.Options{})
	a := e.SignUp(b, "alpha")
	seedChecks(b, e, a.ID, 10000, 9)
	var count struct{ Checks struct{ TotalCount int } }
	e.MustDo(b, a.Token, `{ checks { totalCount } }`, nil, &count)
	if count.Checks.TotalCount != 100000 {
		b.Fatalf("seeded %d checks", count.Checks.TotalCount)
	}
	const fields = `pageInfo { endCursor }
		nodes { id kind name summary ... on Service { host { id name } } state { status ok hard output lastCheck lastStateChange acknowledged } } } }`
	const page = `query($f: CheckFilter, $after: String) { checks(filter: $f, first: 100, after: $after) { totalCount ` + fields
	const pageNoCount = `query($f: CheckFilter, $after: String) { checks(filter: $f, first: 100, after: $after) { ` + fields
	var first struct {
		Checks struct{ PageInfo struct{ EndCursor string } }
	}
	e.MustDo(b, a.Token, pageNoCount, nil, &first)
	for _, c := range []struct {
		name   string
		query  string
		filter map[string]any
		after  string
	}{
		{"first-page-with-total", page, nil, ""},
		{"first-page", pageNoCount, nil, ""},
		{"next-page", pageNoCount, nil, first.Checks.PageInfo.EndCursor},
		{"problems", pageNoCount, map[string]any{"problems": true}, ""},
		{"search", pageNoCount, map[string]any{"search": "host-42"}, ""},
	} {
		page := c.query
		b.Run(c.name, func(b *testing.B) {
			vars := map[string]any{"f": c.filter}
			if c.after != "" {
				vars["after"] = c.after
			}
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				r := e.Do(b, a.Token, page, vars)
				samples = append(samples, time.Since(start))
				if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"nodes":[{`) {
					b.Fatalf("query: %+v %.200s", r.Errors, r.Data)
				}
			}
			report(b, samples)
		})
	}
}

// BenchmarkSubscriptionLatency: time from a result's commit (submitResult
// returned) to its update arriving at each of 1,000 open subscriptions
// (one WebSocket each, unfiltered, half on each subprotocol), while other
// results flow in the background.
func BenchmarkSubscriptionLatency(b *testing.B) {
	const subscribers = 1000
	e := apitest.Start(b, apitest.Options{})
	a := e.SignUp(b, "alpha")
	e.Apply(b, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(b, a.Token)
	target := ids["web1/disk"]

	type arrival struct {
		seq int
		at  time.Time
	}
	arrivals := make(chan arrival, subscribers*4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var conns []*apitest.WS
	for i := range subscribers {
		proto := apitest.TransportWS
		if i%2 == 1 {
			proto = apitest.LegacyWS
		}
		w := e.MustSubscribe(b, proto, a.Token, `subscription { checkUpdated { check { id } state { output } } }`, nil)
		conns = append(conns, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				m, err := w.Next(time.Hour) // ends when the connection closes
				if err != nil {
					return
				}
				var p struct {
					Data struct {
						CheckUpdated struct {
							Check struct{ ID string }
							State struct{ Output string }
						}
					}
				}
				if json.Unmarshal(m.Payload, &p) != nil || p.Data.CheckUpdated.Check.ID != target {
					continue
				}
				var seq int
				if _, err := fmt.Sscanf(p.Data.CheckUpdated.State.Output, "bench %d", &seq); err == nil {
					arrivals <- arrival{seq, time.Now()}
				}
			}
		}()
	}
	e.WaitSubscribers(b, a.ID, subscribers)
	// Background flow: other checks get a result every 50 ms.
	others := []string{ids["web1/http"], ids["web2"], ids["web2/http"], ids["web1"]}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				st := []string{"OK", "WARNING"}[i%2]
				e.Do(b, a.Token, `mutation($id: ID!, $s: Status!) { submitResult(checkId: $id, status: $s, output: "background") }`,
					map[string]any{"id": others[i%len(others)], "s": st})
			}
		}
	}()
	var samples []time.Duration
	seq := 0
	for b.Loop() {
		seq++
		st := []string{"OK", "CRITICAL"}[seq%2]
		// Timed from sending the mutation: an update cannot arrive before
		// its commit, and the mutation's round trip is a millisecond.
		committed := time.Now()
		e.MustDo(b, a.Token, `mutation($id: ID!, $s: Status!, $o: String!) { submitResult(checkId: $id, status: $s, output: $o) }`,
			map[string]any{"id": target, "s": st, "o": fmt.Sprintf("bench %d", seq)}, nil)
		got := 0
		deadline := time.After(30 * time.Second)
		for got < subscribers {
			select {
			case x := <-arrivals:
				if x.seq == seq {
					samples = append(samples, x.at.Sub(committed))
					got++
				}
			case <-deadline:
				b.Fatalf("result %d reached %d of %d subscribers in 30 s", seq, got, subscribers)
			}
		}
	}
	b.StopTimer()
	report(b, samples)
	cancel()
	for _, w := range conns {
		w.Close()
	}
	wg.Wait()
}
