package checks

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// vectorsFile is the shared fixture of nagios4-validated perfdata vectors.
const vectorsFile = "nagios/plugin-output/perfdata_vectors.json"

type vectorRange struct {
	Raw      string   `json:"raw"`
	Start    *float64 `json:"start"`
	StartInf bool     `json:"start_inf"`
	End      *float64 `json:"end"`
	EndInf   bool     `json:"end_inf"`
	AlertOn  string   `json:"alert_on"`
}

type vectorItem struct {
	Label     string       `json:"label"`
	Value     *string      `json:"value"`
	UOM       string       `json:"uom"`
	Warn      *string      `json:"warn"`
	Crit      *string      `json:"crit"`
	Min       *string      `json:"min"`
	Max       *string      `json:"max"`
	WarnRange *vectorRange `json:"warn_range"`
	CritRange *vectorRange `json:"crit_range"`
}

type vector struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	ExitCode int    `json:"exit_code"`
	Input    string `json:"input"`
	Expected struct {
		PluginOutput    *string      `json:"plugin_output"`
		LongOutput      *string      `json:"long_plugin_output"`
		PerformanceData *string      `json:"performance_data"`
		Perfdata        []vectorItem `json:"perfdata"`
		PerfdataErrors  []struct {
			Token string `json:"token"`
			Error string `json:"error"`
		} `json:"perfdata_errors"`
	} `json:"expected"`
	Nagios struct {
		PluginOutput string `json:"plugin_output"`
		CurrentState int    `json:"current_state"`
	} `json:"validated_against_nagios4"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, vectorsFile))
	if err != nil {
		t.Fatalf("reading the shared fixture: %v", err)
	}
	var doc struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	if len(doc.Vectors) != 30 {
		t.Fatalf("%s: %d vectors, want 30", vectorsFile, len(doc.Vectors))
	}
	return doc.Vectors
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestPluginOutputVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(strconv.Itoa(v.ID)+"_"+v.Name, func(t *testing.T) {
			po := ParsePluginOutput([]byte(v.Input))
			// What nagios4 itself stored is the reference for the status text,
			// including the "(No output returned from plugin)" placeholder.
			if po.Status != v.Nagios.PluginOutput {
				t.Errorf("status text %q, nagios4 says %q", po.Status, v.Nagios.PluginOutput)
			}
			if want := deref(v.Expected.LongOutput); po.LongOutput != want {
				t.Errorf("long output %q, want %q", po.LongOutput, want)
			}
			if want := deref(v.Expected.PerformanceData); po.Perfdata != want {
				t.Errorf("raw perfdata %q, want %q", po.Perfdata, want)
			}
			if st, ok := FromNagiosExit(v.ExitCode); !ok || int(st)-int(StatusOK) != v.Nagios.CurrentState {
				t.Errorf("exit %d maps to %v, nagios4 state %d", v.ExitCode, st, v.Nagios.CurrentState)
			}
			checkPerfItems(t, po.Perfdata, v)
		})
	}
}

func checkPerfItems(t *testing.T, raw string, v vector) {
	t.Helper()
	items, warnings := ParsePerfdata(raw)
	if len(items) != len(v.Expected.Perfdata) {
		t.Fatalf("%d perfdata items %+v, want %d (warnings %q)", len(items), items, len(v.Expected.Perfdata), warnings)
	}
	for i, want := range v.Expected.Perfdata {
		got := items[i]
		if got.Label != want.Label || got.UOM != want.UOM || got.Warn != deref(want.Warn) || got.Crit != deref(want.Crit) {
			t.Errorf("item %d: %+v, want %+v", i, got, want)
		}
		checkNumber(t, want.Label+" value", got.Value, want.Value)
		checkNumber(t, want.Label+" min", got.Min, want.Min)
		checkNumber(t, want.Label+" max", got.Max, want.Max)
		checkRange(t, want.Label+" warn", got.Warn, want.WarnRange)
		checkRange(t, want.Label+" crit", got.Crit, want.CritRange)
	}
	if len(warnings) != len(v.Expected.PerfdataErrors) {
		t.Fatalf("warnings %q, want %d: %+v", warnings, len(v.Expected.PerfdataErrors), v.Expected.PerfdataErrors)
	}
	for i, e := range v.Expected.PerfdataErrors {
		if !strings.Contains(warnings[i], strconv.Quote(e.Token)) || !strings.Contains(warnings[i], e.Error) {
			t.Errorf("warning %d %q, want token %q and %q", i, warnings[i], e.Token, e.Error)
		}
	}
}

func checkNumber(t *testing.T, what string, got *float64, want *string) {
	t.Helper()
	if want == nil || *want == "U" {
		if got != nil {
			t.Errorf("%s = %v, want absent", what, *got)
		}
		return
	}
	w, err := strconv.ParseFloat(*want, 64)
	if err != nil {
		t.Fatalf("fixture %s %q: %v", what, *want, err)
	}
	if got == nil || *got != w {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

func checkRange(t *testing.T, what, raw string, want *vectorRange) {
	t.Helper()
	if want == nil {
		return
	}
	r, err := ParseRange(raw)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	wantStart, wantEnd := math.Inf(-1), math.Inf(1)
	if !want.StartInf {
		wantStart = *want.Start
	}
	if !want.EndInf {
		wantEnd = *want.End
	}
	if r.Start != wantStart || r.End != wantEnd || r.Inside != (want.AlertOn == "inside") {
		t.Errorf("%s range %q = %+v, want start %v end %v alert_on %s", what, raw, r, wantStart, wantEnd, want.AlertOn)
	}
}
