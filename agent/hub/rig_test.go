package hub_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// bergamotBinary builds cmd/bergamot once per test binary.
func bergamotBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bergamot-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bergamot")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/bergamot").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("building bergamot: %v", binErr)
	}
	return binPath
}

// logLines collects a process's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) add(m map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, m)
}

// find returns the first line with msg whose text contains every part.
func (l *logLines) find(msg string, parts ...string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		if m["msg"] != msg {
			continue
		}
		b, _ := json.Marshal(m)
		ok := true
		for _, p := range parts {
			if !strings.Contains(string(b), p) {
				ok = false
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

// proc is a bergamot process with its logs.
type proc struct {
	cmd  *exec.Cmd
	logs *logLines
}

// rig: a database with sites A and B, an agent manager process, and the
// helpers to start serve and agent processes.
type rig struct {
	t       testing.TB
	ctx     context.Context
	db      *pgtest.DB
	sites   map[string]uuid.UUID
	mgrDir  string
	mgrAddr string
}

// start runs the bergamot binary with args, waits for a log line with msg
// (when set) and returns its attribute attr.
func (r *rig) start(env []string, msg, attr string, args ...string) (*proc, string) {
	r.t.Helper()
	return r.startVia(nil, env, msg, attr, args...)
}

// startVia is start with the command run through wrap (e.g. ip netns exec).
func (r *rig) startVia(wrap, env []string, msg, attr string, args ...string) (*proc, string) {
	r.t.Helper()
	argv := append(append(append([]string{}, wrap...), bergamotBinary(r.t), "--log-format", "json"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	p := &proc{cmd: cmd, logs: &logLines{}}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.logs.add(m)
				if msg != "" && m["msg"] == msg {
					v, _ := m[attr].(string)
					select {
					case found <- v:
					default:
					}
				}
			}
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "[%s] %s\n", args[0], sc.Text())
			}
		}
	}()
	if msg == "" {
		return p, ""
	}
	select {
	case v := <-found:
		return p, v
	case <-time.After(90 * time.Second):
		r.t.Fatalf("bergamot %s: no %q log line within 90s", args[0], msg)
	}
	return nil, ""
}

func (r *rig) run(args ...string) string {
	r.t.Helper()
	out, err := exec.Command(bergamotBinary(r.t), args...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("bergamot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newRig creates the sites with the stock templates (all of Bergamot's
// base configuration but internal.xml's hosts) plus hosts, and starts an
// agent manager.
func newRig(t *testing.T, hosts map[string]string) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("runs bergamot processes")
	}
	r := &rig{t: t, ctx: context.Background(), db: pgtest.New(t), sites: map[string]uuid.UUID{}}
	base := fixtures.Path(t, "bergamot-config/base")
	var paths []string
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "internal.xml" {
			paths = append(paths, filepath.Join(base, e.Name()))
		}
	}
	sealer, err := store.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for name, xml := range hosts {
		err := pgx.BeginFunc(r.ctx, r.db.Pool, func(tx pgx.Tx) error {
			s, err := tenants.CreateSite(r.ctx, tx, name+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
			if err == nil {
				r.sites[name] = s.ID
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := config.LoadPaths(paths...)
		if err != nil {
			t.Fatal(err)
		}
		own, err := config.Parse(name+".xml", strings.NewReader(xml))
		if err != nil {
			t.Fatal(err)
		}
		doc = doc.Merge(own)
		err = tenants.InSite(tenants.WithSite(r.ctx, r.sites[name]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			res, err := (&store.Configs{Sealer: sealer}).Apply(ctx, tx, doc, "test", name+".xml", false)
			if err == nil && !res.OK {
				err = res.Errors
			}
			return err
		})
		if err != nil {
			t.Fatalf("applying site %s: %v", name, err)
		}
	}
	r.mgrDir = filepath.Join(t.TempDir(), "manager")
	r.run("agent-manager", "init", "--dir", r.mgrDir, "--names", "127.0.0.1,localhost")
	_, r.mgrAddr = r.start(nil, "agent manager serving", "addr", "agent-manager", "serve", "--dir", r.mgrDir, "--listen", "127.0.0.1:0")
	return r
}

// serve starts a serve node with the agent hub and returns it with its
// agent URL.
func (r *rig) serve(extra ...string) (*proc, string) {
	r.t.Helper()
	p, addr := r.start([]string{"DATABASE_URL=" + r.db.OwnerURL, "BERGAMOT_DATA=" + r.t.TempDir(),
		"BERGAMOT_SECRET_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		"agent hub listening", "addr",
		append([]string{"serve", "--listen", "127.0.0.1:0", "--signup", "closed", "--exec-policy", "hosted",
			"--agent-manager", r.mgrAddr, "--agent-manager-creds", filepath.Join(r.mgrDir, "node"),
			"--agent-listen", "127.0.0.1:0", "--agent-names", "127.0.0.1"}, extra...)...)
	return p, "wss://" + addr + "/agent"
}

// cert issues an agent certificate with the command line.
func (r *rig) cert(site, host string, extra ...string) string {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "agent")
	r.run(append([]string{"agent", "cert", "--dir", r.mgrDir, "--site", site, "--host", host, "--out", dir}, extra...)...)
	return dir
}

// agent starts `bergamot agent` with the credentials in dir.
func (r *rig) agent(dir, hubs string, extra ...string) *proc {
	r.t.Helper()
	p, _ := r.start([]string{"BERGAMOT_PLUGIN_USER=-"}, "connected to hub", "", append([]string{"agent", "--hub", hubs,
		"--cert", filepath.Join(dir, "agent.crt"), "--key", filepath.Join(dir, "agent.key"), "--ca", filepath.Join(dir, "ca.crt")}, extra...)...)
	return p
}

// due makes every check of site due now.
func (r *rig) due(site string) {
	r.t.Helper()
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now(), in_flight_until = NULL WHERE site_id = $1`, r.sites[site]); err != nil {
		r.t.Fatal(err)
	}
}

type checkState struct {
	Name, Status, Output string
	LastCheck            *time.Time
}

// states lists the host's checks (the host itself as "host").
func (r *rig) states(site, host string) []checkState {
	r.t.Helper()
	var out []checkState
	err := tenants.InSite(tenants.WithSite(r.ctx, r.sites[site]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT CASE WHEN c.kind = 'host' THEN 'host' ELSE c.name END, s.status, s.output, s.last_check
			FROM checks c JOIN check_state s ON s.check_id = c.id
			LEFT JOIN checks h ON h.id = c.parent_id
			WHERE (c.kind = 'host' AND c.name = $1) OR (c.kind = 'service' AND h.name = $1) ORDER BY 1`, host)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s checkState
			if err := rows.Scan(&s.Name, &s.Status, &s.Output, &s.LastCheck); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

// waitStates waits until every check of host ran after since and ok
// accepts each; it returns the states.
func (r *rig) waitStates(site, host string, since time.Time, within time.Duration, ok func(checkState) bool) []checkState {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ss := r.states(site, host)
		done := len(ss) > 0
		for _, s := range ss {
			if s.LastCheck == nil || s.LastCheck.Before(since) || !ok(s) {
				done = false
			}
		}
		if done {
			return ss
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("site %s host %s: checks not as expected within %s:\n%s", site, host, within, formatStates(ss))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func formatStates(ss []checkState) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %-18s %-12s %v %s\n", s.Name, s.Status, s.LastCheck, s.Output)
	}
	return b.String()
}
