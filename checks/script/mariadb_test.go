package script

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mariadbtest"
)

// TestJDBCMariaDB runs the jdbc object against a real MariaDB: prepared
// statements with ? placeholders, result sets by index and name, and the
// read-only session.
func TestJDBCMariaDB(t *testing.T) {
	srv := mariadbtest.Start(t)
	srv.Exec(t, "CREATE TABLE bergamot.jobs (id int PRIMARY KEY, state varchar(20), runtime double); "+
		"INSERT INTO bergamot.jobs VALUES (1, 'done', 1.5), (2, 'failed', 7.25), (3, 'failed', NULL);")
	e := New(Options{AllowAddress: func(string, string) error { return nil }})
	params := map[string]string{"host": srv.Host, "port": srv.PortString(), "database": srv.Database, "username": srv.User, "password": srv.Password}
	script := `
		var url = 'jdbc:mysql://' + check.getParameter('host') + ':' + check.getIntParameter('port') + '/' + check.getParameter('database');
		jdbc.connect(url, check.getParameter('username'), check.getParameter('password'), function(con) {
			var r = con.prepare('SELECT count(*) AS n, max(runtime) FROM jobs WHERE state = ? AND id > ?')
				.bindString(1, 'failed').bindInt(2, 0)
				.query(function(rs) { rs.next(); return { n: rs.getInt('n'), max: rs.getDouble(2) }; });
			var wrote = 'no';
			try { con.query("UPDATE jobs SET state = 'x'", function(rs) {}); wrote = 'yes'; } catch (e) { wrote = String(e).indexOf('READ ONLY') >= 0 ? 'refused' : String(e); }
			bergamot.ok(r.n + ' failed, slowest ' + r.max + ', write ' + wrote);
		});`
	res := execute(t, e, &checks.Request{Engine: "jdbc", Executor: "script", Script: script, Parameters: params, Timeout: 20 * time.Second})
	if res.Status != checks.StatusOK || res.Output != "2 failed, slowest 7.25, write refused" {
		t.Fatalf("got %s %q", res.Status, res.Output)
	}
	res = execute(t, e, &checks.Request{Engine: "jdbc", Executor: "script", Parameters: params, Timeout: 20 * time.Second,
		Script: `jdbc.connect('jdbc:mysql://` + srv.Addr + `/bergamot', 'bergamot', 'wrong', function(con) { bergamot.ok('in'); });`})
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "Access denied") {
		t.Fatalf("wrong password: %s %q", res.Status, res.Output)
	}
}
