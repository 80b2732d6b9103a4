package script

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks/jdbc"
)

func FuzzJDBC(f *testing.F) {
	for _, s := range []string{"jdbc:postgresql://127.0.0.1:5432/postgres", "jdbc:postgresql://db/x?sslmode=disable",
		"jdbc:postgresql://[::1]:5433/a'b", "jdbc:mysql://h/d", "jdbc:postgresql://:0/", "SELECT ? , '?' , \"?\" , ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tg, err := jdbc.ParseURL(s); err == nil && (tg.Host == "" || tg.Port == 0) {
			t.Fatalf("%q parsed to host %q port %d", s, tg.Host, tg.Port)
		}
		out := jdbcPlaceholders(s, []string{"float8"})
		if !strings.ContainsRune(s, '?') && out != s {
			t.Fatalf("rewrote %q to %q without placeholders", s, out)
		}
	})
}
