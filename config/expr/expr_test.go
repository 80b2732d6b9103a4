package expr

import (
	"errors"
	"strings"
	"testing"
)

type mapEnv map[string]Value

func (m mapEnv) Lookup(name string) (Value, bool, error) { v, ok := m[name]; return v, ok, nil }
func (m mapEnv) Func(name string, args []Value) (Value, error) {
	if name == "upper" && len(args) == 1 {
		return strings.ToUpper(String(args[0])), nil
	}
	return nil, ErrUnknown
}

type obj map[string]Value

func (o obj) Field(n string) (Value, bool) { v, ok := o[n]; return v, ok }
func (o obj) Method(n string, args []Value) (Value, error) {
	if n == "getParameter" && len(args) == 1 {
		return o[String(args[0])], nil
	}
	return nil, ErrUnknown
}

func TestTemplate(t *testing.T) {
	env := mapEnv{"host": obj{"address": "10.0.0.1", "name": "h", "snmp": nil}, "arg1": "check_load",
		"nagios.path": "/usr/lib/nagios/plugins", "mode": "cluster"}
	cases := map[string]string{
		"plain":                         "plain",
		"#{host.address}":               "10.0.0.1",
		"-H #{host.address} -c #{arg1}": "-H 10.0.0.1 -c check_load",
		"#{coalesce(host.snmp, host.missing2, 'x')}":  "",
		"#{coalesce(host.getParameter('snmp'), '2')}": "2",
		"#{if(mode == 'cluster', 3, 1)}":              "3",
		"#{if(mode != 'cluster', 3, 1.5)}":            "1.5",
		"#{nagios.path}/check_ping":                   "/usr/lib/nagios/plugins/check_ping",
		"#{upper('a}b')}":                             "A}B",
		"#{!false && (true || false)}":                "true",
	}
	for in, want := range cases {
		tpl, err := ParseTemplate(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		got, err := tpl.Eval(env)
		if in == "#{coalesce(host.snmp, host.missing2, 'x')}" {
			if !errors.Is(err, ErrUnknown) {
				t.Errorf("%q: want unknown field error, got %q, %v", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	for in, want := range map[string]string{
		"#{host.address": "invalid expression at offset 0: unterminated #{",
		"#{host.}":       "in #{host.}: invalid expression at offset 5: expected a name after '.'",
		"#{'abc}":        "invalid expression at offset 0: unterminated #{",
		"#{a b}":         `in #{a b}: invalid expression at offset 2: unexpected "b"`,
		"#{f(a,}":        "in #{f(a,}: invalid expression at offset 4: unexpected end of expression",
		"#{}":            "in #{}: invalid expression at offset 0: unexpected end of expression",
		"#{" + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + "}": "nested too deeply",
	} {
		_, err := ParseTemplate(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"#{host.address}", "#{coalesce(host.getParameter('x'), host.location.getParameter('x'), '2')}",
		"#{resolve_credentials('ssh').username}", "#{if(site.deployment_mode == 'cluster', 3, 1)}", "a #{arg1} b #{arg2}", "#{!a || b && c != 'd'}"} {
		f.Add(s)
	}
	env := mapEnv{"host": obj{"address": "x"}, "a": true}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		_, _ = tpl.Eval(env)
	})
}
