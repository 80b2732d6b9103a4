package script

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// startHAProxy runs Debian's haproxy with a stats CSV endpoint on loopback,
// a backend "web" with one live server (a Go test server) and one dead one.
func startHAProxy(t *testing.T) (statsPort int) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed (apt-get install -y haproxy)")
	}
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(live.Close)
	statsPort, fePort, deadPort := testnet.FreePort(t), testnet.FreePort(t), testnet.FreePort(t)
	cfg := fmt.Sprintf(`global
  maxconn 100
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
listen stats
  bind 127.0.0.1:%d
  stats enable
  stats uri /haproxy
  stats auth monitor:pa55
frontend www
  bind 127.0.0.1:%d
  default_backend web
backend web
  server alive %s check inter 100ms fall 1 rise 1
  server dead 127.0.0.1:%d check inter 100ms fall 1 rise 1
`, statsPort, fePort, strings.TrimPrefix(live.URL, "http://"), deadPort)
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", file)
	out, _ := os.Create(filepath.Join(t.TempDir(), "log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	// Send traffic through the frontend, and wait until the dead server is seen DOWN.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", fePort)); err == nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/haproxy;csv;norefresh", statsPort), nil)
		req.SetBasicAuth("monitor", "pa55")
		if r, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if strings.Contains(string(b), "web,dead,") && strings.Contains(string(b), "DOWN") {
				return statsPort
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("haproxy did not come up with the dead server DOWN")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHAProxyTemplates(t *testing.T) {
	port := startHAProxy(t)
	e := New(Options{})
	cmds := loadCommands(t, "haproxy/haproxy_servers_commands.xml")
	for _, f := range []string{"haproxy/haproxy_sessions_commands.xml", "haproxy/haproxy_traffic_commands.xml"} {
		for k, v := range loadCommands(t, f) {
			cmds[k] = v
		}
	}
	params := func(proxy string, extra ...string) map[string]string {
		m := map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(port), "path": "/haproxy;csv;norefresh",
			"username": "monitor", "password": "pa55", "proxy_name": proxy}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}

	t.Run("backend up servers", func(t *testing.T) {
		res := execute(t, e, request(cmds["haproxy-backend-up-servers"], params("web")))
		if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "1 UP - alive UP (") || !strings.Contains(res.Output, "dead DOWN") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		perf(t, res, "total_sessions")
		res = execute(t, e, request(cmds["haproxy-backend-up-servers"], params("web", "warning", "2")))
		if res.Status != checks.StatusWarning {
			t.Fatalf("warning=2: got %s %q", res.Status, res.Output)
		}
	})
	t.Run("frontend sessions and bytes", func(t *testing.T) {
		res := execute(t, e, request(cmds["haproxy-frontend-sessions"], params("www")))
		if res.Status != checks.StatusOK {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		res = execute(t, e, request(cmds["haproxy-frontend-bytes-info"], params("www")))
		if res.Status != checks.StatusInfo || !strings.HasPrefix(res.Output, "In: ") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		if p := perf(t, res, "in"); p.UOM != "B" || p.Value == nil || *p.Value <= 0 {
			t.Fatalf("perfdata %+v", p)
		}
	})
	t.Run("unknown proxy", func(t *testing.T) {
		res := execute(t, e, request(cmds["haproxy-backend-up-servers"], params("nope")))
		if res.Status != checks.StatusError || res.Output != "HAProxy has no such proxy: nope" {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		res := execute(t, e, request(cmds["haproxy-backend-up-servers"], params("web", "password", "x")))
		if res.Status != checks.StatusError || res.Output != "HAProxy API returned: 401" {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("connection refused goes to the error callback", func(t *testing.T) {
		p := params("web", "port", strconv.Itoa(testnet.FreePort(t)))
		res := execute(t, e, request(cmds["haproxy-backend-up-servers"], p))
		if res.Status != checks.StatusError || !strings.Contains(res.Output, "connection refused") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
}
