package nagios

import (
	"context"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// TestPluginsDoNotSeeTheWorkersSecrets: plugins get PATH, locale and
// NAGIOS_* variables, never the worker's database URL or secret key.
func TestPluginsDoNotSeeTheWorkersSecrets(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://bergamot:hunter2@db/bergamot")
	t.Setenv("BERGAMOT_SECRET_KEY", "c2VjcmV0")
	t.Setenv("NAGIOS_HOSTNAME", "web1")
	e := New(Options{Confine: unconfined})
	for _, line := range []string{
		`/bin/sh -c 'echo "db=${DATABASE_URL:-none} key=${BERGAMOT_SECRET_KEY:-none} path=${PATH:+set} host=${NAGIOS_HOSTNAME:-none}"'`,
		`/usr/bin/printenv DATABASE_URL`, // direct exec: exits 1 (WARNING) when unset
	} {
		res, err := e.Execute(context.Background(), &checks.Request{CommandLine: line, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		switch line[0:5] {
		case "/bin/":
			if res.Output != "db=none key=none path=set host=web1" {
				t.Errorf("plugin environment: %q", res.Output)
			}
		default:
			if res.Status != checks.StatusWarning || res.Output != "(No output on stdout) stderr:" { // empty stdout and stderr, as nagios4 4.4 says
				t.Errorf("printenv DATABASE_URL: %s %q", res.Status, res.Output)
			}
		}
	}
}

// unconfined turns the root worker's plugin confinement off for tests about
// output and process handling that run plugins from private temporary
// directories; confine_test.go tests the confinement itself.
var unconfined = Confinement{User: "-"}
