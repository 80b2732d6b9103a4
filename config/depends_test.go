package config

import (
	"strings"
	"testing"
)

// Every lookup rule of <depends>: siblings (also through a template), hosts,
// host/service with "/" in the name, clusters and resources.
func TestDependsResolves(t *testing.T) {
	doc, err := ParseFile("testdata/depends.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	name := func(c *Check) string {
		for _, h := range append(append([]*Check(nil), m.Hosts...), m.Clusters...) {
			if h == c {
				return h.Name
			}
			for _, l := range [][]*Check{h.Services, h.Traps, h.Resources} {
				for _, s := range l {
					if s == c {
						return h.Name + "/" + s.Name
					}
				}
			}
		}
		return "?"
	}
	deps := func(c *Check) string {
		var out []string
		for _, d := range c.DependsOn {
			out = append(out, name(d))
		}
		return strings.Join(out, ",")
	}
	web1, db1 := findHost(t, m, "web1"), findHost(t, m, "db1")
	pool := m.Clusters[0]
	for _, tc := range []struct {
		c    *Check
		want string
	}{
		{web1, "router"},
		{child(web1, "app"), "web1/nrpe,db1/postgres,db1/disk /var,db1"},
		{child(web1, "router"), "router"}, // not itself: a sibling is never the check; falls to the host
		{child(db1, "disk /var"), "db1/nrpe"},
		{child(web1, "disk /var"), "web1/nrpe"},
		{pool, "web1/app"},
		{child(pool, "r2"), "pool/r1,db1"},
	} {
		if got := deps(tc.c); got != tc.want {
			t.Errorf("%s depends on %q, want %q", name(tc.c), got, tc.want)
		}
	}
}
