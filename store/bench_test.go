package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// hostsXML generates n hosts of one template with 10 active services each.
func hostsXML(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<bergamot site="bench">
<team name="ops"/><time-period name="24x7"><time-range>monday 00:00-24:00</time-range></time-period>
<command name="dummy" engine="dummy"><parameter name="output">#{arg1}</parameter></command>
<service name="svc" template="yes"><notify teams="ops"/><schedule every="5" time-period="24x7"/></service>
<host name="tpl" template="yes"><notify teams="ops"/><check-command command="dummy"><parameter name="arg1">alive</parameter></check-command>
`)
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, `<service name="s%d" extends="svc"><check-command command="dummy"><parameter name="arg1">check %d</parameter></check-command></service>
`, i, i)
	}
	b.WriteString("</host>\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<host name="host%d" extends="tpl" address="10.%d.%d.%d"/>
`, i, i>>16&255, i>>8&255, i&255)
	}
	b.WriteString("</bergamot>\n")
	return b.Bytes()
}

// BenchmarkApply10kHosts applies 10,000 hosts x 10 services (110,000
// checks) to an empty site, then re-applies the same (a no-op). Targets:
// first apply < 30 s, no-op < 10 s.
func BenchmarkApply10kHosts(b *testing.B) {
	data := hostsXML(10000)
	s := newSite(b)
	var first, noop time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// A fresh site each round: the first apply starts from nothing.
		err := pgx.BeginFunc(context.Background(), s.db.Pool, func(tx pgx.Tx) error {
			st, err := tenants.CreateSite(context.Background(), tx, "b"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
			s.id = st.ID
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for round := 0; round < 2; round++ {
			start := time.Now()
			doc, err := config.Parse("bench.xml", bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			res := s.mustApply(doc)
			d := time.Since(start)
			if round == 0 {
				first += d
				if res.Added != 10005 {
					b.Fatalf("first apply added %d objects", res.Added)
				}
			} else {
				noop += d
				if res.Added+res.Changed+res.Removed != 0 {
					b.Fatalf("re-apply changed %d objects", res.Added+res.Changed+res.Removed)
				}
			}
		}
	}
	if n := s.count(`SELECT count(*) FROM check_schedule`); n != 110000 {
		b.Fatalf("%d schedule rows, want 110000", n)
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first-apply-s")
	b.ReportMetric(noop.Seconds()/float64(b.N), "noop-apply-s")
}
