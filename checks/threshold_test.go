package checks

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// realOutputsFile is the shared fixture of real plugin outputs.
const realOutputsFile = "nagios/plugin-output/real_plugin_outputs.txt"

type realRun struct {
	command string
	output  string
	exit    int
}

// loadRealRuns reads real_plugin_outputs.txt: "===== $ CMD\nOUTPUT----- exit=N".
func loadRealRuns(t testing.TB) []realRun {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, realOutputsFile))
	if err != nil {
		t.Fatalf("reading the shared fixture: %v", err)
	}
	re := regexp.MustCompile(`(?s)===== \$ ([^\n]*)\n(.*?)----- exit=(\d+)\n`)
	var runs []realRun
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		code, _ := strconv.Atoi(m[3])
		runs = append(runs, realRun{command: m[1], output: m[2], exit: code})
	}
	if len(runs) < 40 {
		t.Fatalf("%s: only %d runs found", realOutputsFile, len(runs))
	}
	return runs
}

// TestRealPluginOutputs parses every recorded output of Debian's plugins:
// real plugins must give a status text and perfdata without warnings, except
// where the recorded threshold itself is not a valid range.
func TestRealPluginOutputs(t *testing.T) {
	multi := 0
	for _, r := range loadRealRuns(t) {
		out := r.output
		if strings.Contains(r.command, "|") {
			// A multi-line check_dummy command: the recording holds the rest of
			// the command line before the plugin's output, which starts at "OK: ".
			i := strings.Index(out, "\nOK: ")
			if i < 0 {
				t.Fatalf("%s: cannot find the output in %q", r.command, out)
			}
			out = out[i+1:]
			multi++
		}
		po := ParsePluginOutput([]byte(out))
		if po.Status == "" || po.Status == NoOutput {
			t.Errorf("%s: empty status text from %q", r.command, out)
		}
		if strings.Contains(po.Status, "|") || strings.Contains(po.Status, ";") {
			t.Errorf("%s: status text %q keeps perfdata or ';'", r.command, po.Status)
		}
		items, warnings := ParsePerfdata(po.Perfdata)
		badRange := strings.Contains(r.command, "-w /root") || strings.Contains(r.command, "-w abc")
		if badRange && po.Perfdata != "" {
			if len(warnings) != 1 || !strings.Contains(warnings[0], "warn threshold") {
				t.Errorf("%s: warnings %q, want one about the warn threshold", r.command, warnings)
			}
		} else if !badRange && len(warnings) > 0 {
			t.Errorf("%s: warnings on real perfdata %q: %q", r.command, po.Perfdata, warnings)
		}
		if strings.Contains(out, "=") && strings.Contains(out, "|") && len(items) == 0 {
			t.Errorf("%s: no perfdata items from %q", r.command, out)
		}
		if strings.Contains(r.command, "'it''s'") {
			// Like Nagios, the text after a long-output '|' is appended after one
			// space as it is, so " x=1B" gives two spaces.
			want := PluginOutput{Status: "OK: first line", LongOutput: "long line 1\nlong line 2 ",
				Perfdata: "'quoted label'=5s;1;2;0;10 'it''s'=1%  x=1B y=2MB;;;0;"}
			if po != want {
				t.Errorf("check_dummy multi-line: %+v, want %+v", po, want)
			}
			if len(items) != 4 || items[0].Label != "quoted label" || items[1].Label != "it's" || items[3].UOM != "MB" {
				t.Errorf("check_dummy multi-line items: %+v", items)
			}
		}
	}
	if multi != 2 {
		t.Errorf("found %d multi-line check_dummy runs, want 2", multi)
	}
}

// TestThresholdAgainstCheckUsers replays check_users' verdicts (0 users
// logged in) on the warning ranges recorded in real_plugin_outputs.txt.
func TestThresholdAgainstCheckUsers(t *testing.T) {
	re := regexp.MustCompile(`check_users -w (\S+) -c (\S+)$`)
	n := 0
	for _, r := range loadRealRuns(t) {
		m := re.FindStringSubmatch(r.command)
		if m == nil || strings.HasPrefix(m[1], "/root") || strings.Contains(r.output, "positive integer") || m[1] == "abc" {
			continue // shell tilde artefacts, check_users' own extra rules, and atof("abc") leniency
		}
		n++
		st, err := Threshold(0, m[1], m[2])
		switch {
		case strings.Contains(r.output, "Range format incorrect"):
			if err == nil {
				t.Errorf("-w %s: accepted; check_users says Range format incorrect", m[1])
			}
		case err != nil:
			t.Errorf("-w %s: %v", m[1], err)
		case int(st)-int(StatusOK) != r.exit:
			t.Errorf("-w %s -c %s: %v, check_users exit %d", m[1], m[2], st, r.exit)
		}
	}
	if n < 15 {
		t.Fatalf("only %d check_users runs compared", n)
	}
}

func TestParseRange(t *testing.T) {
	inf := math.Inf(1)
	cases := []struct {
		in                string
		start, end        float64
		inside            bool
		alert0, alert15   bool
		wantErrContaining string
	}{
		{in: "10", start: 0, end: 10, alert15: true},
		{in: "10:", start: 10, end: inf, alert0: true},
		{in: "~:10", start: math.Inf(-1), end: 10, alert15: true},
		{in: "10:20", start: 10, end: 20, alert0: true},
		{in: "@10:20", start: 10, end: 20, inside: true, alert15: true},
		{in: "@0", start: 0, end: 0, inside: true, alert0: true},
		{in: "~:", start: math.Inf(-1), end: inf},
		{in: " 1.5e1 ", start: 0, end: 15},
		{in: "5:1", wantErrContaining: "start 5 is greater than end 1"},
		{in: "abc", wantErrContaining: `end: "abc": not a number`},
		{in: "x:1", wantErrContaining: `start: "x": not a number`},
		{in: "@", wantErrContaining: "empty"},
		{in: "", wantErrContaining: "empty"},
		{in: "inf", wantErrContaining: "not a number"},
		{in: "1:2:3", wantErrContaining: `"2:3": not a number`},
	}
	for _, c := range cases {
		r, err := ParseRange(c.in)
		if c.wantErrContaining != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErrContaining) {
				t.Errorf("ParseRange(%q) error %v, want %q", c.in, err, c.wantErrContaining)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRange(%q): %v", c.in, err)
			continue
		}
		if r.Start != c.start || r.End != c.end || r.Inside != c.inside {
			t.Errorf("ParseRange(%q) = %+v", c.in, r)
		}
		if r.Alert(0) != c.alert0 || r.Alert(15) != c.alert15 {
			t.Errorf("%q: Alert(0)=%v Alert(15)=%v, want %v %v", c.in, r.Alert(0), r.Alert(15), c.alert0, c.alert15)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Errorf("%q: String() %q parses back to %+v, %v", c.in, r.String(), back, err)
		}
	}
}

func TestThreshold(t *testing.T) {
	cases := []struct {
		v          float64
		warn, crit string
		want       Status
		err        string
	}{
		{v: 3, warn: "5", crit: "10", want: StatusOK},
		{v: 7, warn: "5", crit: "10", want: StatusWarning},
		{v: 11, warn: "5", crit: "10", want: StatusCritical},
		{v: 11, want: StatusOK},
		{v: 0, crit: "1:", want: StatusCritical}, // check_procs -c 1: with no process
		{v: 11, warn: "bogus", crit: "10", err: "warning threshold"},
		{v: 1, warn: "5", crit: "9:1", err: "critical threshold"},
	}
	for _, c := range cases {
		got, err := Threshold(c.v, c.warn, c.crit)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Threshold(%v, %q, %q) error %v, want %q", c.v, c.warn, c.crit, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Threshold(%v, %q, %q) = %v, %v; want %v", c.v, c.warn, c.crit, got, err, c.want)
		}
	}
}
