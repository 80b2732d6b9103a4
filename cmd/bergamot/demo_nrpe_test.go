package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/devnrpe"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func findCheck(list []*config.Check, name string) *config.Check {
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestDemoDocumentNRPEHost(t *testing.T) {
	for _, port := range []int{15666, devnrpe.DefaultPort} {
		doc, err := demoDocument("18080", port)
		if err != nil {
			t.Fatal(err)
		}
		m, err := config.Resolve(doc)
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		if m.Site != "demo" {
			t.Errorf("site = %q, want demo", m.Site)
		}
		h := findCheck(m.Hosts, "nrpe-localhost")
		if h == nil {
			t.Fatalf("port %d: no nrpe-localhost host", port)
		}
		if h.Address != "127.0.0.1" || h.Summary != "This machine, through NRPE" {
			t.Errorf("host = %q %q", h.Address, h.Summary)
		}
		want := map[string]string{"memory": "check_mem", "load": "check_load", "users": "check_users", "zombie-procs": "check_zombie_procs",
			"total-procs": "check_total_procs", "disk-space-root": "check_disk_space_root", "local-ntp-offset": "check_local_ntp_offset"}
		for svc, cmd := range want {
			s := findCheck(h.Services, svc)
			if s == nil || s.Command == nil {
				t.Errorf("port %d: service %s missing or without command", port, svc)
				continue
			}
			p := s.Command.Parameters
			wantPort := strconv.Itoa(port)
			if port == devnrpe.DefaultPort {
				wantPort = "" // the stock template's default
			}
			if s.Command.Engine != "nrpe" || p["command"] != cmd || p["host"] != "127.0.0.1" || p["port"] != wantPort {
				t.Errorf("port %d: %s = engine %q %v, want nrpe command %s host 127.0.0.1 port %q", port, svc, s.Command.Engine, p, cmd, wantPort)
			}
			if s.Schedule.Every != time.Minute || !strings.Contains(strings.Join(s.Groups, ","), "linux-") {
				t.Errorf("%s: every %v groups %v", svc, s.Schedule.Every, s.Groups)
			}
		}
		if ssh := findCheck(h.Services, "service-ssh"); ssh == nil || ssh.Command.Parameters["command_line"] != "/usr/lib/nagios/plugins//check_ssh 127.0.0.1" {
			t.Errorf("service-ssh = %+v", ssh)
		}
		// The demo's own objects win over the stock ones of the same name.
		if db := findCheck(m.Hosts, "db-server"); db == nil || db.Address != "10.0.0.20" {
			t.Errorf("demo host db-server = %+v", db)
		}
		if lh := findCheck(m.Hosts, "localhost"); lh == nil || lh.Parameters["http_port"] != "18080" {
			t.Errorf("localhost = %+v", lh)
		}
	}
	doc, err := demoDocument("8080", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	if findCheck(m.Hosts, "nrpe-localhost") != nil || m.Commands["check-nrpe"] != nil {
		t.Error("without a daemon the demo has no NRPE host or stock templates")
	}
}

// TestDemoNRPEEndToEnd runs what `bergamot run` runs (serve, worker,
// notifier wiring, the demo site with its private NRPE daemon) on a test
// database and waits for nrpe-localhost's services to get the daemon's real
// answers.
func TestDemoNRPEEndToEnd(t *testing.T) {
	if _, err := os.Stat(devnrpe.DaemonPath); err != nil {
		t.Skip("nagios-nrpe-server missing: apt-get install -y nagios-nrpe-server monitoring-plugins-basic")
	}
	t0 := time.Now()
	pdb := pgtest.New(t)
	data := t.TempDir()
	for _, p := range []string{filepath.Dir(data), data} { // the daemon runs as nagios under root
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Not 5666: a real `bergamot run` may hold it. The saved port is used.
	if err := os.MkdirAll(filepath.Join(data, "nrpe"), 0o755); err != nil {
		t.Fatal(err)
	}
	nrpePort := testnet.FreePort(t)
	if err := os.WriteFile(filepath.Join(data, "nrpe", "port"), []byte(strconv.Itoa(nrpePort)), 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env := &Env{DatabaseURL: pdb.OwnerURL, Data: data, Zone: "default", Logger: log}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := env.OpenDB(ctx, false, 40)
	if err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		db.Close()
		if _, err := os.Stat(filepath.Join(data, "nrpe", "nrpe.pid")); err == nil {
			t.Error("nrpe.pid left after shutdown")
		}
	})
	addr, err := runServe(gctx, env, db, serveOptions{listen: "127.0.0.1:0", signupOpen: true, startWithin: time.Minute}, g)
	if err != nil {
		t.Fatal(err)
	}
	if err := runWorker(gctx, env, db, workerOptions{zone: "default", concurrency: 20}, g); err != nil {
		t.Fatal(err)
	}
	_, httpPort, _ := net.SplitHostPort(addr)
	if err := ensureDemo(gctx, env, db, httpPort, g); err != nil {
		t.Fatal(err)
	}

	owner, err := pgx.Connect(ctx, pdb.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	t.Logf("demo ready after %v", time.Since(t0))
	// Run nrpe-localhost's checks now rather than at their slot in the minute.
	if _, err := owner.Exec(ctx, `UPDATE check_schedule SET next_run = now() WHERE check_id IN
		(SELECT c.id FROM checks c JOIN checks h ON h.id = c.parent_id OR h.id = c.id WHERE h.name = 'nrpe-localhost')`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"memory": "MEMORY ", "users": "USERS ", "load": "", "total-procs": "PROCS ",
		"zombie-procs": "PROCS ", "disk-space-root": "DISK "}
	got := map[string][2]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		rows, err := owner.Query(ctx, `SELECT c.name, s.status, s.output FROM checks c JOIN checks h ON h.id = c.parent_id
			JOIN check_state s ON s.check_id = c.id WHERE h.name = 'nrpe-localhost' AND s.last_check IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, status, output string
			if err := rows.Scan(&name, &status, &output); err != nil {
				t.Fatal(err)
			}
			if _, ok := want[name]; ok {
				got[name] = [2]string{status, output}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("results after %v", time.Since(t0))
	for name, prefix := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s: no result within 60s", name)
			continue
		}
		status, output := r[0], r[1]
		t.Logf("%-16s %-8s %s", name, status, output)
		if status != "OK" && status != "WARNING" && status != "CRITICAL" || !strings.HasPrefix(output, prefix) || strings.Contains(output, "NRPE") {
			t.Errorf("%s: %s %q, want the plugin's own answer (starting %q) through NRPE", name, status, output, prefix)
		}
	}
	if r := got["load"]; !strings.Contains(strings.ToLower(r[1]), "load average") {
		t.Errorf("load output %q does not read like check_load", r[1])
	}
}
