package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// hostedServe starts the serve role under the hosted policy on a test
// database, signs a site up through GraphQL and returns a function that
// posts GraphQL with its token.
func hostedServe(t *testing.T, pol *checks.Policy) func(query string, vars map[string]any) map[string]any {
	t.Helper()
	pdb := pgtest.New(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env := &Env{DatabaseURL: pdb.OwnerURL, Data: t.TempDir(), Zone: "default", Logger: log, Policy: pol}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := env.OpenDB(ctx, false, 20)
	if err != nil {
		t.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	t.Cleanup(func() {
		cancel()
		_ = g.Wait()
		db.Close()
	})
	addr, err := runServe(gctx, env, db, serveOptions{listen: "127.0.0.1:0", signupOpen: true, startWithin: time.Minute}, g)
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	post := func(query string, vars map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data   map[string]any
			Errors []any
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
			t.Fatalf("graphql: %v %v", err, out.Errors)
		}
		return out.Data
	}
	// The operator's way (an API sign-up waits for its emailed link).
	if _, _, err := tenants.NewStore(db.Pool).SignUp(ctx, tenants.SignUpInput{SiteName: "tenant", Email: "eve@tenant.test", Password: "correct horse battery"}, nil); err != nil {
		t.Fatal(err)
	}
	d := post(`mutation { login(site: "tenant", email: "eve@tenant.test", password: "correct horse battery") { token } }`, nil)
	token = d["login"].(map[string]any)["token"].(string)
	return post
}

type configResult struct {
	OK     bool
	Errors []struct {
		Message, File, Object string
		Line                  int
	}
}

func dryRun(t *testing.T, post func(string, map[string]any) map[string]any, xml string) configResult {
	t.Helper()
	d := post(`mutation($x: String!) { applyConfig(xml: $x, dryRun: true) { ok errors { message file line object } } }`, map[string]any{"x": xml})
	b, _ := json.Marshal(d["applyConfig"])
	var r configResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// service makes a site configuration with one service on host h.
func service(engine, hostAttrs, params string) string {
	return fmt.Sprintf(`<bergamot site="tenant">
<command name="c" engine="%s">%s</command>
<host name="h" %s>
  <service name="s"><check-command command="c"/></service>
</host>
</bergamot>`, engine, params, hostAttrs)
}

func nagiosCmd(line string) string {
	return `<parameter name="command_line">` + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(line) + `</parameter>`
}

// TestHostedRefusesAtApply: under hosted, a signed-up site's configuration
// that could run its own commands on the operator's workers, read worker
// files or reach addresses inside the operator's network is refused by
// applyConfig (dry run, through the real API) with file:line, the object,
// the rule and the way out; nothing is dialled.
func TestHostedRefusesAtApply(t *testing.T) {
	post := hostedServe(t, &checks.Policy{Mode: checks.PolicyHosted, Net: netpolicy.New(netpolicy.Options{}),
		SharedZone: func(z string) bool { return z != "tenant-dc" }})
	for _, tc := range []struct {
		name, xml, want string
	}{
		{"shell list", service("nagios", `address="203.0.113.5"`, nagiosCmd("check_dummy 0; id")), `";" in the command line`},
		{"command substitution", service("nagios", `address="203.0.113.5"`, nagiosCmd("$(id)")), `"$" in the command line`},
		{"worker file", service("nagios", `address="203.0.113.5"`, nagiosCmd("/bin/cat /etc/shadow")), "/bin/cat is outside /usr/lib/nagios/plugins"},
		{"dot dot", service("nagios", `address="203.0.113.5"`, nagiosCmd("../../bin/sh")), `contains ".."`},
		{"plugin_dir", service("nagios", `address="203.0.113.5"`, nagiosCmd("check_dummy 0")+`<parameter name="plugin_dir">/tmp</parameter>`), `parameter "plugin_dir" may not be set`},
		{"nrpe tls files", service("nrpe", `address="203.0.113.5"`, `<parameter name="tls_cert">/etc/bergamot/worker.crt</parameter>`), `parameter "tls_cert" names the worker file`},
		{"http tls files", service("http", `address="203.0.113.5"`, `<parameter name="client_key">/var/lib/bergamot/secret.key</parameter>`), `parameter "client_key" names the worker file`},
		{"http loopback", service("http", `address="203.0.113.5"`, `<parameter name="url">http://127.0.0.1:5432/</parameter>`), "address 127.0.0.1 is loopback"},
		{"http metadata", service("http", `address="203.0.113.5"`, `<parameter name="url">http://169.254.169.254/latest/meta-data/</parameter>`), "cloud metadata endpoint"},
		{"tcp link-local", service("tcp", `address="169.254.10.1"`, `<parameter name="port">22</parameter>`), "link-local"},
		{"tcp private", service("tcp", `address="10.1.2.3"`, `<parameter name="port">22</parameter>`), "is private"},
		{"dns cgnat server", service("dns", `address="203.0.113.5"`, `<parameter name="server">100.64.0.53</parameter><parameter name="name">example.com</parameter>`), "carrier-grade NAT"},
		{"script loopback", service("script", `address="localhost"`, `<script>result.ok("x")</script>`), "localhost (127.0.0.1) is loopback"},
		{"nagios host option", service("nagios", `address="203.0.113.5"`, nagiosCmd("check_tcp -H 127.0.0.1 -p 5432")), "127.0.0.1 is loopback"},
		{"ssh loopback", service("ssh", `address="127.0.0.1"`, nagiosCmd("check_load")), "127.0.0.1 is loopback"},
		{"sftp private", service("sftp", `address="203.0.113.5"`, `<parameter name="host">192.168.1.20</parameter><parameter name="path">/x</parameter>`), "192.168.1.20 is private"},
		{"jdbc url loopback", service("jdbc", `address="203.0.113.5"`, `<parameter name="url">jdbc:postgresql://127.0.0.1:5432/bergamot</parameter><parameter name="query">select 1</parameter>`), `parameter "url" jdbc:postgresql://127.0.0.1:5432/bergamot: address 127.0.0.1 is loopback`},
		{"jdbc host metadata", service("jdbc", `address="169.254.169.254"`, `<parameter name="driver">mysql</parameter><parameter name="query">select 1</parameter>`), "cloud metadata endpoint"},
		{"jmx localhost", service("jmx", `address="localhost"`, `<parameter name="mbean">java.lang:type=Memory</parameter>`), "localhost (127.0.0.1) is loopback"},
		{"libvirt socket", service("libvirt", `address="203.0.113.5"`, `<parameter name="socket">/run/libvirt/libvirt-sock</parameter>`), `parameter "socket" names the worker file`},
		{"libvirt private", service("libvirt", `address="10.0.0.7"`, ``), "10.0.0.7 is private"},
	} {
		r := dryRun(t, post, tc.xml)
		if r.OK || len(r.Errors) == 0 {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		e := r.Errors[0]
		if !strings.Contains(e.Message, tc.want) || !strings.Contains(e.Message, "refused by the hosted execution policy") ||
			!strings.Contains(e.Message, `worker-pool=`) || e.Line == 0 || e.Object != `service "s" on host "h"` {
			t.Errorf("%s: error %+v, want %q with the rule, the object, a line and the private-worker hint", tc.name, e, tc.want)
		}
	}
	// A webhook contact aimed at loopback.
	r := dryRun(t, post, `<bergamot site="tenant"><contact name="ops"><parameter name="webhook.url">http://127.0.0.1:8080/api/v1/</parameter></contact></bergamot>`)
	if r.OK || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "webhook.url http://127.0.0.1:8080/api/v1/: address 127.0.0.1 is loopback") ||
		r.Errors[0].Object != `contact "ops"` {
		t.Errorf("webhook to loopback: %+v", r)
	}
	// A site's own SMTP relay and IRC server aimed at the operator's network.
	for xml, want := range map[string]string{
		`<bergamot site="tenant"><parameter name="smtp.host">127.0.0.1</parameter><parameter name="smtp.from">a@example.com</parameter></bergamot>`:                                                                       "smtp.host: address 127.0.0.1 is loopback",
		`<bergamot site="tenant"><contact name="ops"><parameter name="irc.nick">ops</parameter><parameter name="irc.server">10.0.0.5:6667</parameter><parameter name="irc.channel">#ops</parameter></contact></bergamot>`: "irc.server: address 10.0.0.5 is private",
	} {
		if r := dryRun(t, post, xml); r.OK || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, want) {
			t.Errorf("%s: %+v, want %q", xml, r, want)
		}
	}
	// What the policy allows still applies: an allow-listed plugin as an
	// argv, checks of public addresses, anything in the site's own zone.
	for name, xml := range map[string]string{
		"allow-listed plugin":      service("nagios", `address="203.0.113.5"`, nagiosCmd("check_dummy 0 'all good'")),
		"public http":              service("http", `address="203.0.113.5"`, `<parameter name="url">https://8.8.8.8/</parameter>`),
		"public url, private host": service("http", `address="10.0.0.5"`, `<parameter name="url">https://8.8.8.8/</parameter>`),
		"public jdbc":              service("jdbc", `address="10.0.0.5"`, `<parameter name="url">jdbc:mysql://203.0.113.9/app</parameter><parameter name="query">select 1</parameter>`),
		"public ssh":               service("ssh", `address="203.0.113.5"`, nagiosCmd("check_load")),
		"public webhook":           `<bergamot site="tenant"><contact name="ops"><parameter name="webhook.url">https://hooks.example.com/x</parameter></contact></bergamot>`,
		"private zone":             service("nagios", `address="127.0.0.1" worker-pool="tenant-dc"`, nagiosCmd("/bin/cat /etc/shadow; id")),
	} {
		if r := dryRun(t, post, xml); !r.OK {
			t.Errorf("%s refused: %+v", name, r.Errors)
		}
	}
}

func TestPolicyFlags(t *testing.T) {
	if servePolicyDefault(true) != checks.PolicyHosted || servePolicyDefault(false) != checks.PolicyTrusted {
		t.Error("serve's default policy does not follow signup")
	}
	parse := func(def string, args ...string) (*checks.Policy, error) {
		fs := newFlags("x", "x")
		pf := addPolicyFlags(fs, def)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return pf.policy()
	}
	t.Setenv("BERGAMOT_EXEC_POLICY", "")
	if p, err := parse(checks.PolicyTrusted); err != nil || p != nil {
		t.Errorf("run's default: %v %v", p, err)
	}
	p, err := parse(checks.PolicyTrusted, "--exec-policy", "hosted", "--allow-net", "10.20.0.0/16", "--allow-net", "127.0.0.1,192.168.7.0/24",
		"--plugin-dirs", "/usr/lib/nagios/plugins,/opt/plugins")
	if err != nil || !p.Hosted() || len(p.PluginDirs) != 2 || p.PluginRules["negate"].Deny != true {
		t.Fatalf("hosted: %+v %v", p, err)
	}
	for _, a := range []string{"10.20.1.1", "127.0.0.1", "192.168.7.7"} {
		if err := p.Network().Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	if err := p.Network().Check(netip.MustParseAddr("10.21.0.1")); err == nil {
		t.Error("10.21.0.1 allowed")
	}
	for args, want := range map[string]string{
		"--exec-policy=open":          `execution policy "open": want "trusted" or "hosted"`,
		"--allow-net=10.0.0.0/40":     "--allow-net: allowed network",
		"--plugin-dirs=plugins":       `--plugin-dirs: "plugins" is not an absolute path`,
		"--plugin-rules=/nonexistent": "--plugin-rules: plugin argument rules: open /nonexistent",
	} {
		if _, err := parse(checks.PolicyHosted, args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
	t.Setenv("BERGAMOT_EXEC_POLICY", "hosted")
	if p, err := parse(checks.PolicyTrusted); err != nil || !p.Hosted() {
		t.Errorf("env: %v %v", p, err)
	}
}
