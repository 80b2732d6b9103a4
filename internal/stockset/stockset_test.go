package stockset_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/jdbc"
	"github.com/bergamot-monitoring/bergamot/checks/jmx"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/checks/self"
	sshcheck "github.com/bergamot-monitoring/bergamot/checks/ssh"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
	"github.com/bergamot-monitoring/bergamot/internal/jolokiatest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/internal/sshdtest"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newEngines are the engines issue 24 added; every stock command using
// one of them must run.
var newEngines = []string{"ssh", "sftp", "jdbc", "jmx", "internal"}

// stockDefects are stock commands that cannot succeed as the templates
// ship them, whatever the engine does: the database server itself refuses
// their SQL (server is what its error says). The test requires exactly
// that error, so an engine failure cannot hide here and a fixed template
// is noticed.
var stockDefects = map[string]struct{ why, server string }{
	"postgresql-replication-lag": {"needs the bergamot_monitoring schema of postgresql_bergamot_monitoring_schema.sql, which calls pg_current_xlog_location() and reads sent_location: removed in PostgreSQL 10, so it cannot be installed on a current server",
		`schema "bergamot_monitoring" does not exist`},
	"postgresql-replication-slaves":           {"the same schema", `schema "bergamot_monitoring" does not exist`},
	"postgresql-replication-streaming-slaves": {"the same schema", `schema "bergamot_monitoring" does not exist`},
}

// relay forwards connections to ip:port (the port a stock command
// assumes: 22, 5432, 8778) to the peer at network/addr.
func relay(t *testing.T, ip string, port int, network, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Skipf("cannot listen on %s:%d for the stock port (is it in use?): %v", ip, port, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := (&net.Dialer{Timeout: 5 * time.Second}).Dial(network, addr)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() { _, _ = io.Copy(u, c); u.Close() }()
				_, _ = io.Copy(c, u)
				c.Close()
			}()
		}
	}()
}

func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// TestEveryStockCommandOfTheNewEnginesRuns applies the whole stock base
// set plus one host extending its templates with a service for every
// stock command whose engine is ssh, sftp, jdbc, jmx or internal, runs
// them through the real scheduler, worker and result processor, and
// requires each to reach a real verdict: a state other than ERROR (no
// "no engine", no parameter or configuration error) and never PENDING.
// The stock commands keep their own ports and parameters; the peers are
// reached through relays on a private loopback address at those ports.
func TestEveryStockCommandOfTheNewEnginesRuns(t *testing.T) {
	base := fixtures.Path(t, "bergamot-config/base")
	sshd := sshdtest.Start(t)
	jvm := jolokiatest.Start(t, "monitor", "monitor")
	db := pgtest.New(t)
	pgc, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	if pgc.Password == "" {
		pgc.Password = "unused" // the stock scripts require one; the test cluster trusts its socket
	}
	// A server that has run a while has checkpointed; a fresh one makes
	// the stock postgresql-checkpoint-stats divide by zero checkpoints.
	if owner, err := pgx.Connect(context.Background(), db.OwnerURL); err == nil {
		_, err = owner.Exec(context.Background(), "CHECKPOINT")
		owner.Close(context.Background())
		if err != nil {
			t.Fatalf("CHECKPOINT: %v", err)
		}
	} else {
		t.Fatal(err)
	}
	ip := fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(250), 1+rand.IntN(250))
	relay(t, ip, 22, "tcp", sshd.Addr)
	relay(t, ip, 8778, "tcp", net.JoinHostPort(jvm.Host, fmt.Sprint(jvm.Port)))
	if strings.HasPrefix(pgc.Host, "/") {
		relay(t, ip, 5432, "unix", fmt.Sprintf("%s/.s.PGSQL.%d", pgc.Host, pgc.Port))
	} else {
		relay(t, ip, 5432, "tcp", net.JoinHostPort(pgc.Host, fmt.Sprint(pgc.Port)))
	}

	// Which stock commands use the new engines.
	baseDoc, err := config.LoadPaths(base)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := config.Resolve(baseDoc)
	if err != nil {
		t.Fatal(err)
	}
	var cmds, skipped []string
	for name, c := range bm.Commands {
		if !slices.Contains(newEngines, c.Engine) {
			continue
		}
		if c.Executor == "script" && strings.TrimSpace(c.Script) == "" ||
			c.Executor == "nagios" && strings.TrimSpace(paramOf(c, "command_line")) == "" {
			skipped = append(skipped, name) // a base to extend: no script or command line of its own
			continue
		}
		cmds = append(cmds, name)
	}
	sort.Strings(cmds)
	sort.Strings(skipped)
	if len(cmds) < 30 {
		t.Fatalf("found %d stock commands of the new engines (%v), want the whole set", len(cmds), cmds)
	}
	t.Logf("%d stock commands; bases without a script of their own, not run: %v", len(cmds), skipped)

	var site strings.Builder
	fmt.Fprintf(&site, `<bergamot site="stock">
<credential name="ssh"><username>%[1]s</username><password>%[2]s</password></credential>
<credential name="sftp"><username>%[1]s</username><password>%[2]s</password></credential>
<credential name="postgresql"><username>%[3]s</username><password>%[4]s</password></credential>
<host name="stock" extends="generic-host" address="%[5]s">
  <parameter name="jmx_port">8778</parameter>
  <schedule every="3s" retry-every="3s" changing-every="3s"/>
  <check-command command="bergamot-internal-workers"/>
`, xmlText(sshdtest.User), xmlText(sshd.Password), xmlText(pgc.User), xmlText(pgc.Password), ip)
	for _, c := range cmds {
		fmt.Fprintf(&site, `  <service name="stock-%s" extends="generic-service"><check-command command="%s"/>
    <schedule every="3s" retry-every="3s" changing-every="3s"/>
    <parameter name="arg1">80</parameter><parameter name="arg2">90</parameter><parameter name="arg3">/</parameter>
    <parameter name="arg4">1</parameter><parameter name="arg5">1</parameter></service>
`, c, c)
	}
	site.WriteString("</host>\n</bergamot>\n")
	extra := filepath.Join(t.TempDir(), "stock-host.xml")
	if err := os.WriteFile(extra, []byte(site.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := config.LoadPaths(base, extra)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	goRun := func(f func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f(ctx) }()
	}
	log := slog.New(slog.DiscardHandler)
	var siteID uuid.UUID
	err = pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(ctx, tx, "stock"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		if err == nil {
			siteID = s.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx := tenants.WithSite(ctx, siteID)
	sealer, err := store.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	err = tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: sealer}).Apply(ctx, tx, doc, "test", "stock", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
	if err != nil {
		t.Fatalf("applying the base set with the stock host: %v", err)
	}

	// The worker, as `bergamot worker` wires it (these engines plus nagios),
	// and the serve and notifier registrations the internal checks count.
	sc := script.New(script.Options{Logger: log})
	ssh := sshcheck.New(sshcheck.Options{Logger: log, KnownHosts: &store.HostKeys{Pool: db.Pool}, Script: sc})
	t.Cleanup(func() { _ = ssh.Close() })
	reg := checks.NewRegistry()
	for _, e := range []checks.Engine{ssh, ssh.SFTP(), jdbc.New(jdbc.Options{Logger: log, Script: sc}), jmx.New(jmx.Options{Logger: log, Script: sc}),
		self.New(self.Options{Logger: log, Source: &store.SelfCheck{Pool: db.Pool}}),
		nagios.New(nagios.Options{Logger: log})} {
		reg.Register(e)
	}
	rc, err := riverclient.NewInsertClient(db.Pool, log)
	if err != nil {
		t.Fatal(err)
	}
	goRun((&jobs.Scheduler{Pool: db.Pool, River: rc, Logger: log, Tick: 50 * time.Millisecond, StartWithin: time.Minute}).Run)
	goRun((&jobs.Processor{Pool: db.Pool, Logger: log, Wake: jobs.Wakeup(ctx, db.Pool, jobs.ResultsChannel, log)}).Run)
	goRun((&jobs.Presence{Pool: db.Pool, ID: uuid.New(), Name: "stock-worker", Zone: "default", Engines: reg.Names(), Logger: log}).Run)
	goRun((&jobs.NodePresence{Pool: db.Pool, ID: uuid.New(), Role: jobs.RoleServe, Name: "stock-serve", Logger: log}).Run)
	goRun((&jobs.NodePresence{Pool: db.Pool, ID: uuid.New(), Role: jobs.RoleNotifier, Name: "stock-notifier", Capabilities: []string{"email"}, Logger: log}).Run)
	w := &jobs.ExecuteWorker{Pool: db.Pool, Engines: reg, Sealer: sealer, WorkerID: "stock-worker", Logger: log}
	wc, err := jobs.NewWorkerClient(db.Pool, jobs.WorkerConfig{Zone: "default", Concurrency: 8, Worker: w, Logger: log, FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := wc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = wc.StopAndCancel(sctx)
	})

	type state struct{ status, output string }
	read := func() map[string]state {
		out := map[string]state{}
		err := tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT c.name, s.status, s.output FROM checks c JOIN check_state s ON s.check_id = c.id
				JOIN checks h ON h.id = COALESCE(c.parent_id, c.id) WHERE h.name = 'stock' AND s.last_check IS NOT NULL`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				var s state
				if err := rows.Scan(&name, &s.status, &s.output); err != nil {
					return err
				}
				out[name] = s
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := len(cmds) + 1 // the services and the host itself
	deadline := time.Now().Add(3 * time.Minute)
	var got map[string]state
	for {
		got = read()
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range append([]string{"stock"}, cmds...) {
		name := c
		if c != "stock" {
			name = "stock-" + c
		}
		s, ok := got[name]
		defect, known := stockDefects[c]
		switch {
		case !ok:
			t.Errorf("%s (command %s) never ran", name, c)
		case known && (s.status != "ERROR" || !strings.Contains(s.output, defect.server)):
			t.Errorf("%s (command %s): %s %q; the stock defect (%s) is gone or changed: update stockDefects", name, c, s.status, s.output, defect.why)
		case known:
			t.Logf("%-50s %-8s stock defect: %s", c, s.status, defect.why)
		case s.status == "ERROR" || s.status == "PENDING" || strings.Contains(s.output, "engine on this worker"):
			t.Errorf("%s (command %s): %s %q, want a real verdict", name, c, s.status, s.output)
		default:
			t.Logf("%-50s %-8s %s", c, s.status, firstLine(s.output))
		}
	}
	if s := got["stock"]; s.status != "OK" || !strings.Contains(s.output, `1 worker alive in zone "default"`) {
		t.Errorf("bergamot-internal-workers on the stock host: %s %q, want OK with the one live worker", s.status, s.output)
	}
}

func paramOf(c *config.Command, name string) string {
	for _, p := range c.Parameters {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}
