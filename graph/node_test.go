package graph_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// nodeDir prepares graph/testdata/node (npm ci when node_modules is
// missing) and returns it; it skips the test without Node.
func nodeDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (apt-get install nodejs npm): skipping the graphql-ws client test")
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "node"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-ws")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// TestNodeGraphQLWSClient subscribes with the npm graphql-ws client and
// receives the update an executeNow (run by a real worker) causes.
func TestNodeGraphQLWSClient(t *testing.T) {
	dir := nodeDir(t)
	e := apitest.Start(t, apitest.Options{Worker: true})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	id := e.CheckIDs(t, a.Token)["web1/http"]
	wsURL := "ws" + strings.TrimPrefix(e.URL, "http") + "/graphql"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("subscribe and receive", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, "node", "subscribe.mjs", "subscribe", wsURL, a.Token, id)
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "READY" {
			t.Fatalf("node client: %q", lines.Text())
		}
		e.WaitSubscribers(t, a.ID, 1)
		e.MustDo(t, a.Token, `mutation($id: ID!) { executeNow(checkId: $id) }`, map[string]any{"id": id}, nil)
		if !lines.Scan() {
			t.Fatalf("node client ended without an update: %v", cmd.Wait())
		}
		line := lines.Text()
		var u struct {
			Check struct{ ID, Name string }
			State struct{ Status, Output string }
		}
		if !strings.HasPrefix(line, "UPDATE ") || json.Unmarshal([]byte(strings.TrimPrefix(line, "UPDATE ")), &u) != nil {
			t.Fatalf("node client: %q", line)
		}
		if u.Check.ID != id || u.State.Status != "CRITICAL" || u.State.Output != "broken on purpose" {
			t.Fatalf("update: %+v", u)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("node client: %v", err)
		}
	})

	t.Run("bad token is refused", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, "node", "subscribe.mjs", "badtoken", wsURL, "bgt_not-a-token")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "REFUSED 4403") {
			t.Fatalf("node client with a bad token: %v %s", err, out)
		}
	})
}
