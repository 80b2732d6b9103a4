package nagios

import (
	"context"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitCommandLine(t *testing.T) {
	cases := []struct {
		in    string
		args  []string
		shell bool
		err   string
	}{
		{in: "check_dummy 0 hi", args: []string{"check_dummy", "0", "hi"}},
		{in: "  check_load\t-w 5,4,3  -c 10,8,6 ", args: []string{"check_load", "-w", "5,4,3", "-c", "10,8,6"}},
		{in: `check_http -u '/a b?c=1' -s "x \"y\" \\z"`, args: []string{"check_http", "-u", "/a b?c=1", "-s", `x "y" \z`}},
		{in: `a b\ c '' ""`, args: []string{"a", "b c", "", ""}},
		{in: "check_ping -w 3000.0,80% -c 5000.0,100% -p 5", args: []string{"check_ping", "-w", "3000.0,80%", "-c", "5000.0,100%", "-p", "5"}},
		{in: "check_x a=b", args: []string{"check_x", "a=b"}},
		{in: "check_x -H host#1", args: []string{"check_x", "-H", "host#1"}},
		{in: "check_x | cat", shell: true},
		{in: "check_x > /tmp/f", shell: true},
		{in: "check_x; exit 1", shell: true},
		{in: "check_x $HOME", shell: true},
		{in: `check_x "$HOME"`, shell: true},
		{in: "check_x `id`", shell: true},
		{in: "check_x *.cfg", shell: true},
		{in: "check_x ~/x", shell: true},
		{in: "check_x # comment", shell: true},
		{in: "LANG=C check_x", shell: true},
		{in: "check_x\nother", shell: true},
		{in: "check_x '$HOME|;'", args: []string{"check_x", "$HOME|;"}},
		{in: "check_x 'oops", err: "unterminated ' quote at byte 9"},
		{in: `check_x "oops`, err: `unterminated " quote at byte 9`},
		{in: "", err: "empty command line"},
	}
	for _, c := range cases {
		args, shell, err := splitCommandLine(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case shell != c.shell:
			t.Errorf("%q: needShell %v", c.in, shell)
		case !c.shell && !reflect.DeepEqual(args, c.args):
			t.Errorf("%q: %q, want %q", c.in, args, c.args)
		}
	}
}

// TestSplitAgreesWithShell checks the split against what /bin/sh itself makes
// of the same words, for every line that does not need the shell.
func TestSplitAgreesWithShell(t *testing.T) {
	lines := []string{
		`x -w 5,4,3 -c 10,8,6`,
		`x 'a b' "c d" e\ f`,
		`x "a \"q\" \\ \z" 'it'\''s'`,
		`x a""b 'c'"d"e`,
		`x -u '/path?x=1&y=2' -e 'HTTP/1.1 200'`,
		`x \$HOME \| \;`,
	}
	for _, line := range lines {
		args, shell, err := splitCommandLine(line)
		if err != nil || shell {
			t.Fatalf("%q: shell %v err %v", line, shell, err)
		}
		// printf the words the shell sees for the same line.
		script := `printf '%s\0' ` + strings.TrimPrefix(line, "x")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, "/bin/sh", "-c", script).Output()
		cancel()
		if err != nil {
			t.Fatalf("%q: sh: %v", line, err)
		}
		want := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if !reflect.DeepEqual(args[1:], want) {
			t.Errorf("%q: split %q, /bin/sh %q", line, args[1:], want)
		}
	}
}

func TestExpandUserMacros(t *testing.T) {
	params := map[string]string{"USER3": "/opt/plugins"}
	get := func(n string) string { return params[n] }
	cases := []struct{ in, want, err string }{
		{in: "$USER1$/check_x", want: "/usr/lib/nagios/plugins/check_x"},
		{in: "$USER3$/check_x $USER1$", want: "/opt/plugins/check_x /usr/lib/nagios/plugins"},
		{in: "check_x $USERNAME $USER", want: "check_x $USERNAME $USER"},
		{in: "$USER2$/check_x", err: "$USER2$, which is not defined"},
	}
	for _, c := range cases {
		got, err := expandUserMacros(c.in, DefaultPluginDir, get)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzSplitCommandLine(f *testing.F) {
	for _, s := range []string{"check_dummy 0 hi", `a 'b c' "d \" e" f\ g`, "x | y", "'", `"\`, "LANG=C x", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, shell, err := splitCommandLine(s)
		if err != nil {
			if !strings.Contains(err.Error(), "command line") {
				t.Fatalf("%q: error %v does not say where", s, err)
			}
			return
		}
		if len(args) == 0 {
			t.Fatalf("%q: no args and no error", s)
		}
		if !shell && strings.ContainsAny(s, "|&;<>`\n") && !strings.ContainsAny(s, `'"\`) {
			t.Fatalf("%q: shell metacharacters but no shell", s)
		}
	})
}
