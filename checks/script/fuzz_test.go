package script

import (
	"context"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func FuzzJDBC(f *testing.F) {
	for _, s := range []string{"jdbc:postgresql://127.0.0.1:5432/postgres", "jdbc:postgresql://db/x?sslmode=disable",
		"jdbc:postgresql://[::1]:5433/a'b", "jdbc:mysql://h/d", "jdbc:postgresql://:0/", "SELECT ? , '?' , \"?\" , ?"} {
		f.Add(s)
	}
	run := newRun(context.Background(), New(Options{}), &checks.Request{})
	f.Fuzz(func(t *testing.T, s string) {
		if cfg, err := run.parseJDBC(s, "u", "p"); err == nil && (cfg.Host == "" || cfg.Port == 0) {
			t.Fatalf("%q parsed to host %q port %d", s, cfg.Host, cfg.Port)
		}
		out := jdbcPlaceholders(s, []string{"float8"})
		if !strings.ContainsRune(s, '?') && out != s {
			t.Fatalf("rewrote %q to %q without placeholders", s, out)
		}
	})
}
