package checks

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// renderPerf writes an item as "label=value|uom|warn|crit|min|max" ("U"
// for an unknown value, "" for absent fields).
func renderPerf(p Perfdata) string {
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	v := f(p.Value)
	if p.Value == nil {
		v = "U"
	}
	return fmt.Sprintf("%s=%s|%s|%s|%s|%s|%s", p.Label, v, p.UOM, p.Warn, p.Crit, f(p.Min), f(p.Max))
}

// TestPerfdataAgainstNagios4: for the plugin outputs recorded from a real
// nagios4 run (checks/nagios/testdata/nagios4-verdicts.json, see
// scripts/record-nagios4-verdicts), Bergamot splits off the same raw
// perfdata nagios4 stored, and parses its items as the plugin guidelines
// and Icinga 2's parser read them (nagios4 itself stores perfdata
// unparsed): exponents are numbers, U keeps its unit and thresholds,
// and an item whose value is followed by something that is not a unit is
// skipped with a warning.
func TestPerfdataAgainstNagios4(t *testing.T) {
	data, err := os.ReadFile("nagios/testdata/nagios4-verdicts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string `json:"name"`
		Stdout   string `json:"stdout"`
		Exit     int    `json:"exit"`
		Perfdata string `json:"nagios4_performance_data"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		items    []string
		warnings []string // substrings, one per warning
	}{
		"ok with perfdata":                      {items: []string{"a=1||2|3|0|10"}},
		"warning with long output":              {items: []string{"b=2|s||||", "c=3|||||", "d=4|||||"}},
		"critical, stderr dropped by nagios4":   {items: []string{"e=5|||||"}},
		"exit 4 keeps long output and perfdata": {items: []string{"x=1|||||"}},
		"semicolon in status text":              {items: []string{"z=1|||||"}},
		"perfdata scientific notation":          {items: []string{"big=1000|||||", "small=-3.2e-07|ms||||", "tiny=5.8e-08|||||", "neg=-150|s||||"}},
		"perfdata junk units": {items: []string{"ok=3|B||||"},
			warnings: []string{`"junk=10m2": value 10 is followed by "m2", which is not a unit`, `"hex=0x10": hexadecimal`, `"pipe=5|x=1": value 5 is followed by "|x=1"`}},
		"perfdata U with unit": {items: []string{"u=U|%|80|90|0|100", "v=U|ms|1|2||"}},
	}
	seen := 0
	for _, c := range cases {
		if c.Exit == 126 || c.Exit == 127 {
			continue // nagios4 does not keep perfdata of a plugin that did not run
		}
		po := ParsePluginOutput([]byte(c.Stdout))
		if po.Perfdata != c.Perfdata {
			t.Errorf("%s: raw perfdata %q, nagios4 stored %q", c.Name, po.Perfdata, c.Perfdata)
		}
		w, ok := want[c.Name]
		if !ok {
			if c.Perfdata != "" {
				t.Errorf("%s: no expected items for perfdata %q", c.Name, c.Perfdata)
			}
			continue
		}
		seen++
		items, warnings := ParsePerfdata(po.Perfdata)
		var got []string
		for _, p := range items {
			got = append(got, renderPerf(p))
		}
		if strings.Join(got, " ") != strings.Join(w.items, " ") {
			t.Errorf("%s: items\n got %v\nwant %v", c.Name, got, w.items)
		}
		if len(warnings) != len(w.warnings) {
			t.Errorf("%s: warnings %q, want %d", c.Name, warnings, len(w.warnings))
			continue
		}
		for i, s := range w.warnings {
			if !strings.Contains(warnings[i], s) {
				t.Errorf("%s: warning %q does not contain %q", c.Name, warnings[i], s)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("checked %d cases, expected %d: the verdicts file lost some", seen, len(want))
	}
}
