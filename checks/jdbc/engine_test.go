package jdbc

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/enginetest"
	"github.com/bergamot-monitoring/bergamot/internal/mariadbtest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// database is one real server the tests run the same cases against.
type database struct {
	name, url, user, password string
	// sessions counts the server's sessions opened by checks.
	sessions func(t *testing.T) int
	sleep    string // SQL that takes 5 seconds
}

func postgres(t testing.TB) database {
	db := pgtest.New(t)
	cfg, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Host, "/") {
		// The test cluster listens on a Unix socket: reach it through a
		// loopback TCP relay, as a network check would.
		cfg.Host, cfg.Port = relay(t, fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port))
	}
	owner, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(context.Background()) })
	return database{name: "postgresql",
		url:  fmt.Sprintf("jdbc:postgresql://%s:%d/%s?sslmode=disable", cfg.Host, cfg.Port, cfg.Database),
		user: cfg.User, password: cfg.Password, sleep: "SELECT pg_sleep(5)",
		sessions: func(t *testing.T) int {
			var n int
			if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bergamot-check'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}}
}

func mariadb(t testing.TB) database {
	srv := mariadbtest.Start(t)
	return database{name: "mariadb", url: "jdbc:mariadb://" + srv.Addr + "/" + srv.Database, user: srv.User, password: srv.Password,
		sleep: "SELECT SLEEP(5)",
		sessions: func(t *testing.T) int {
			n, err := srv.Count("SELECT count(*) FROM information_schema.processlist WHERE user = '" + srv.User + "'")
			if err != nil {
				t.Fatal(err)
			}
			return n
		}}
}

func req(d database, params map[string]string) *checks.Request {
	p := map[string]string{"url": d.url, "username": d.user, "password": d.password}
	for k, v := range params {
		p[k] = v
	}
	return &checks.Request{Engine: "jdbc", Parameters: p, Timeout: 20 * time.Second}
}

func run(t *testing.T, e *Engine, r *checks.Request) *checks.Result {
	t.Helper()
	res, err := e.Execute(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestQueries(t *testing.T) {
	for _, open := range []func(testing.TB) database{postgres, mariadb} {
		d := open(t)
		t.Run(d.name, func(t *testing.T) {
			e := New(Options{})
			for _, tc := range []struct {
				params map[string]string
				status checks.Status
				output string
			}{
				{map[string]string{"query": "SELECT 42 AS answer"}, checks.StatusOK, "OK answer = 42 on jdbc:"},
				{map[string]string{"query": "SELECT 42 AS answer", "warning": "40", "critical": "50"}, checks.StatusWarning, "WARNING answer = 42"},
				{map[string]string{"query": "SELECT 42 AS answer", "warning": "40", "critical": "41"}, checks.StatusCritical, "CRITICAL answer = 42"},
				{map[string]string{"query": "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3", "rows": "true", "critical": "2"}, checks.StatusCritical, "CRITICAL 3 rows"},
				{map[string]string{"query": "SELECT 1 WHERE 1 = 0", "rows": "true", "critical": "1:"}, checks.StatusCritical, "CRITICAL 0 rows"},
				{map[string]string{"query": "SELECT 1 WHERE 1 = 0"}, checks.StatusUnknown, "query on jdbc:"},
				{map[string]string{"query": "SELECT 'abc' AS v", "warning": "1"}, checks.StatusUnknown, "query on jdbc:"},
				{map[string]string{"query": "CREATE TABLE bergamot_nope (a int)"}, checks.StatusCritical, "query on jdbc:"},
				{map[string]string{"query": d.sleep, "statement_timeout": "0.5"}, checks.StatusCritical, "query on jdbc:"},
				{map[string]string{"query": "SELECT 1", "password": "wrong"}, checks.StatusCritical, "cannot connect to jdbc:"},
				{map[string]string{"query": ""}, checks.StatusError, `parameter "query" is required`},
				{map[string]string{"query": "SELECT 1", "url": "jdbc:oracle:thin:@x"}, checks.StatusError, `parameter "url"`},
				{map[string]string{"query": "SELECT 1", "warning": "5:1"}, checks.StatusError, `parameter "warning"`},
			} {
				if tc.params["password"] == "wrong" && d.name == "postgresql" {
					continue // the test cluster trusts local connections
				}
				res := run(t, e, req(d, tc.params))
				if res.Status != tc.status || !strings.HasPrefix(res.Output, tc.output) {
					t.Errorf("%v: got %s %q", tc.params, res.Status, res.Output)
				}
				if strings.HasPrefix(tc.params["query"], "CREATE") && !strings.Contains(strings.ToLower(res.Output), "read") {
					t.Errorf("write refused for another reason than read-only: %q", res.Output)
				}
				if tc.params["statement_timeout"] != "" && (res.Runtime > 4*time.Second || !strings.Contains(res.Output, "statement") && !strings.Contains(res.Output, "interrupted")) {
					t.Errorf("statement timeout: %q after %s", res.Output, res.Runtime)
				}
			}
			res := run(t, e, req(d, map[string]string{"query": "SELECT 7", "warning": "10", "label": "jobs"}))
			if len(res.Perfdata) != 3 || res.Perfdata[0].Label != "jobs" || *res.Perfdata[0].Value != 7 || res.Perfdata[0].Warn != "10" ||
				res.Perfdata[1].Label != "time" || res.Perfdata[1].UOM != "s" {
				t.Errorf("perfdata %+v", res.Perfdata)
			}
		})
	}
}

// TestNoLeaks runs many checks against both databases, then counts
// goroutines, file descriptors and the servers' sessions.
// TestNoLeaks runs 1,000 queries (one in ten failing) on each database and
// then requires no server session left open and goroutines, file
// descriptors and heap back where they were.
func TestNoLeaks(t *testing.T) {
	dbs := []database{postgres(t), mariadb(t)}
	runs := enginetest.LeakRuns()
	e := New(Options{})
	base := enginetest.Take(t)
	for _, d := range dbs {
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < runs/4; i++ {
					q := "SELECT 1"
					if i%10 == 9 {
						q = "SELECT nonsense FROM nowhere" // failing queries must close too
					}
					res, _ := e.Execute(t.Context(), req(d, map[string]string{"query": q}))
					if (res.Status == checks.StatusOK) != (i%10 != 9) {
						t.Errorf("%s run %d: %s %q", d.name, i, res.Status, res.Output)
						return
					}
				}
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(5 * time.Second)
		for d.sessions(t) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := d.sessions(t); n > 0 {
			t.Errorf("%s: %d sessions still open after %d checks", d.name, n, runs)
		}
	}
	enginetest.Bounded(t, base, runs*len(dbs), 2, 16<<20)
}

// BenchmarkJDBCPostgreSQL and BenchmarkJDBCMariaDB: "SELECT 1" with a
// connection per check (the engine keeps none), against the local server.
func BenchmarkJDBCPostgreSQL(b *testing.B) { benchJDBC(b, postgres) }

// BenchmarkJDBCMariaDB: see BenchmarkJDBCPostgreSQL.
func BenchmarkJDBCMariaDB(b *testing.B) { benchJDBC(b, mariadb) }

func benchJDBC(b *testing.B, db func(testing.TB) database) {
	d := db(b)
	e := New(Options{})
	r := req(d, map[string]string{"query": "SELECT 1"})
	enginetest.Bench(b, func() (checks.Status, string) {
		res, _ := e.Execute(context.Background(), r)
		return res.Status, res.Output
	})
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"jdbc:postgresql://db:5432/app", "jdbc:mysql://[::1]:3306/x?useSSL=true", "jdbc:mariadb://h/d",
		"postgres://u:p@h/d", "jdbc:postgresql://:5/x", "jdbc:postgresql://h:99999/x", "jdbc:oracle:thin:@h:1521:x", "", "jdbc:mysql://h/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseURL(s)
		if err != nil {
			if strings.Contains(err.Error(), "?") && strings.Contains(s, "password=") && strings.Contains(err.Error(), "password=") {
				t.Fatalf("error leaks the query string: %v", err)
			}
			return
		}
		if tg.Host == "" || tg.Port < 1 || tg.Port > 65535 || (tg.Driver != PostgreSQL && tg.Driver != MySQL) || strings.Contains(tg.Database, "/") {
			t.Fatalf("%q parsed to %+v", s, tg)
		}
		back, err := ParseURL(tg.String())
		if err != nil || back.Host != tg.Host || back.Port != tg.Port || back.Database != tg.Database || back.Driver != tg.Driver {
			t.Fatalf("%q: String %q parses to %+v, %v", s, tg.String(), back, err)
		}
	})
}

// relay forwards a loopback TCP port to a Unix socket until the test ends.
func relay(t testing.TB, socket string) (string, uint16) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
			u, err := (&net.Dialer{}).DialContext(context.Background(), "unix", socket)
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
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), uint16(a.Port)
}
