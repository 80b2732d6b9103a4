package nagios

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

func hosted() *checks.Policy {
	return &checks.Policy{Mode: checks.PolicyHosted, Net: netpolicy.New(netpolicy.Options{})}
}

// TestHostedRefusesSiteCommands: under hosted, what a tenant could use to
// run its own commands on the operator's worker is refused before anything
// starts, both by CheckPolicy (apply time) and by Execute itself (run
// time, when a request slipped past).
func TestHostedRefusesSiteCommands(t *testing.T) {
	e := New(Options{PluginDir: DefaultPluginDir})
	for _, tc := range []struct {
		line   string
		params map[string]string
		want   string
	}{
		{line: "check_dummy 0; id", want: `";"`},
		{line: "$(id)", want: `"$"`},
		{line: "check_dummy 0 `id`", want: "`"},
		{line: "check_dummy 0 | id", want: `"|"`},
		{line: "check_dummy 0 > /tmp/x", want: `">"`},
		{line: "check_dummy 0 && id", want: `"&"`},
		{line: "/bin/cat /etc/shadow", want: "/bin/cat is outside /usr/lib/nagios/plugins"},
		{line: "../../bin/sh", want: `"../../bin/sh" contains ".."`},
		{line: "/usr/lib/nagios/plugins/../../../bin/sh", want: `contains ".."`},
		{line: "check_dummy 0 ../../etc/passwd", want: `contains ".."`},
		{line: "check_file_age -f /etc/shadow", want: `"/etc/shadow" names a file of the worker`},
		{line: "check_http -H x --ca-file=/etc/ssl/private/key", want: "names a file of the worker"},
		{line: "check_nothing_like_this 0", want: "plugin check_nothing_like_this is not in /usr/lib/nagios/plugins"},
		{line: "bin/sh", want: "relative path"},
		{line: "negate /usr/lib/nagios/plugins/check_dummy 0", want: "does not allow plugin negate"},
		{line: "check_tcp -H 127.0.0.1 -p 5432", want: "127.0.0.1 is loopback"},
		{line: "check_tcp -H169.254.169.254 -p 80", want: "cloud metadata endpoint"},
		{line: "check_http --hostname=10.0.0.1", want: "is private"},
		{line: "check_dummy 0 $HOME", want: `"$"`},
		{line: "check_dummy 0 *", want: "needs a shell"},
		{line: "check_dummy 0", params: map[string]string{"plugin_dir": "/tmp"}, want: `parameter "plugin_dir" may not be set`},
		{line: "$USER1$/check_dummy 0", params: map[string]string{"USER1": "/bin"}, want: `parameter "USER1" may not be set`},
		{line: "check_dummy 0", params: map[string]string{PluginDirEnv: "/bin"}, want: "may not be set"},
		{line: "$USER2$", params: map[string]string{"USER2": "/bin/sh"}, want: "outside"},
	} {
		params := map[string]string{"command_line": tc.line}
		for k, v := range tc.params {
			params[k] = v
		}
		req := &checks.Request{Engine: "nagios", Parameters: params, Timeout: 5 * time.Second}
		err := e.CheckPolicy(context.Background(), hosted(), req)
		var pe *checks.PolicyError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: CheckPolicy = %v, want a refusal containing %s", tc.line, tc.params, err, tc.want)
		}
		// The run-time guard: Execute with the policy on the request.
		req.Policy = hosted()
		res, err := e.Execute(context.Background(), req)
		if err != nil || res.Status != checks.StatusError || !strings.Contains(res.Output, "refused by the hosted execution policy") {
			t.Errorf("%q: Execute = %+v, %v; want an ERROR refusal", tc.line, res, err)
		}
	}
}

func TestHostedRunsAllowListedPluginsAsArgv(t *testing.T) {
	e := New(Options{PluginDir: DefaultPluginDir})
	for line, want := range map[string]string{
		"check_dummy 0 hello":                     "OK: hello",
		"$USER1$/check_dummy 1 'a b'":             "WARNING: a b",
		"check_dummy 0 'a;b'":                     "",
		"/usr/lib/nagios/plugins/check_dummy 2 x": "CRITICAL: x",
		"check_dummy 0 '$(id)'":                   "",
	} {
		req := &checks.Request{Engine: "nagios", CommandLine: line, Timeout: 5 * time.Second}
		err := e.CheckPolicy(context.Background(), hosted(), req)
		if want == "" {
			if err == nil {
				t.Errorf("%q allowed: $ is refused even quoted", line)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		req.Policy = hosted()
		res, err := e.Execute(context.Background(), req)
		if err != nil || res.Output != want {
			t.Errorf("%q: %+v %v, want %q", line, res, err, want)
		}
	}
	// Trusted (nil policy) still runs what the configuration says.
	res, _ := e.Execute(context.Background(), &checks.Request{CommandLine: "/bin/echo trusted", Timeout: 5 * time.Second})
	if res.Output != "trusted" {
		t.Errorf("trusted: %+v", res)
	}
}

func TestArgRules(t *testing.T) {
	rules, err := ParseArgRules("rules", strings.NewReader(`# operator rules
check_http: -H -p --sni -u
check_ping: *
check_dummy: deny
`))
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{PluginDir: DefaultPluginDir, ArgRules: rules})
	for line, ok := range map[string]bool{
		"check_http -H example.com -p 443 --sni=example.com -u /x": true,
		"check_http -Hexample.com":                                 true,
		"check_http -H example.com -a user:pass":                   false,
		"check_http --sniff":                                       false,
		"check_ping -H example.com -w 1,1% -c 2,2%":                true,
		"check_dummy 0":                                            false,
		"negate check_dummy 0":                                     false, // the default rules still hold
	} {
		err := e.CheckPolicy(context.Background(), hosted(), &checks.Request{CommandLine: line})
		if ok != (err == nil) {
			t.Errorf("%q: %v, want allowed=%v", line, err, ok)
		}
	}
	for text, want := range map[string]string{
		"check_http -H":       `rules:1: want "PLUGIN: OPTIONS"`,
		"check_http:":         "rules:1: plugin check_http: no options listed",
		"check_http: H":       `rules:1: plugin check_http: "H" is not an option`,
		"check_http: --sni=x": `"--sni=x" is not an option`,
		"../x: *":             `rules:1: "../x" is not a plugin name`,
		"a: *\n\na: deny":     "rules:3: plugin a already has a rule on line 1",
	} {
		if _, err := ParseArgRules("rules", strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

func FuzzParseArgRules(f *testing.F) {
	for _, s := range []string{"check_http: -H -p --sni\n", "a: deny\nb: *\n", "# c\n\nx:", ": -H", "a: --x=y", "a: -H\na: -p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseArgRules("f", strings.NewReader(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error %q does not name the line", err)
			}
			return
		}
		for name, r := range rules {
			if name == "" || strings.Contains(name, "/") {
				t.Fatalf("bad plugin name %q", name)
			}
			for _, o := range r.Options {
				if !strings.HasPrefix(o, "-") || !allowsOption(r, o) {
					t.Fatalf("option %q", o)
				}
			}
		}
	})
}
