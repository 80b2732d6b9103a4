package checks

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func f64(v float64) *float64 { return &v }

// TestNormalizeBoundsEveryField: what PostgreSQL refused before (a 3,000-
// byte label, NUL bytes, invalid UTF-8, NaN) and what would fill it
// (megabytes of output, thousands of items) is bounded at the door, and
// the result says what was cut.
func TestNormalizeBoundsEveryField(t *testing.T) {
	r := &Result{
		Status:     StatusOK,
		Output:     "ok\x00 \xff\xfe" + strings.Repeat("o", 20000),
		LongOutput: strings.Repeat("é", 50000),
		Worker:     strings.Repeat("w", 1000),
		Perfdata: []Perfdata{
			{Label: strings.Repeat("L", 3000), Value: f64(1)},
			{Label: "nul\x00", Value: f64(math.NaN()), UOM: "\xff"},
			{Label: "unit", Value: f64(1), UOM: strings.Repeat("u", 100)},
			{Label: "range", Value: f64(1), Warn: strings.Repeat("1", 100), Max: f64(math.Inf(1))},
		},
	}
	if !DefaultLimits.Normalize(r) {
		t.Fatal("Normalize reported no change")
	}
	if len(r.Output) > DefaultLimits.Output || !strings.HasPrefix(r.Output, "ok\uFFFD \uFFFD") ||
		!strings.HasSuffix(r.Output, "[output cut: 20009 bytes, the limit is 8192]") {
		t.Errorf("output %d bytes, ends %q", len(r.Output), r.Output[max(0, len(r.Output)-60):])
	}
	if len(r.LongOutput) > DefaultLimits.LongOutput || !utf8.ValidString(r.LongOutput) {
		t.Errorf("long output %d bytes, valid %v", len(r.LongOutput), utf8.ValidString(r.LongOutput))
	}
	if len(r.Worker) > DefaultLimits.Source {
		t.Errorf("source %d bytes", len(r.Worker))
	}
	if len(r.Perfdata) != 2 || r.Perfdata[0].Label != "nul\uFFFD" || r.Perfdata[0].Value != nil || r.Perfdata[0].UOM != "\uFFFD" ||
		r.Perfdata[1].Warn != "" || r.Perfdata[1].Max != nil {
		t.Errorf("perfdata %+v", r.Perfdata)
	}
	want := []string{"its label is 3000 bytes, the limit is 255", "value NaN is not a finite number",
		"its unit is 100 bytes, the limit is 32", "warn threshold of 100 bytes ignored", "max +Inf is not a finite number"}
	all := strings.Join(r.PerfdataWarnings, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no warning %q in:\n%s", w, all)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("normalized result does not encode: %v", err)
	}
	if DefaultLimits.Normalize(r) {
		t.Error("a second Normalize changed the result again")
	}
}

func TestNormalizeItemsAndTotal(t *testing.T) {
	r := &Result{Status: Status(99), Output: "x"}
	for range 1000 {
		r.Perfdata = append(r.Perfdata, Perfdata{Label: "a", Value: f64(1)})
	}
	DefaultLimits.Normalize(r)
	if r.Status != StatusError || !strings.Contains(r.Output, "unknown status (99)") {
		t.Errorf("status %v output %q", r.Status, r.Output)
	}
	if len(r.Perfdata) != 200 || !strings.Contains(strings.Join(r.PerfdataWarnings, "\n"), "800 perfdata items dropped: at most 200 are kept") {
		t.Errorf("%d items, warnings %q", len(r.Perfdata), r.PerfdataWarnings)
	}

	l := Limits{Total: 2000}
	r = &Result{Status: StatusOK, Output: "x", LongOutput: strings.Repeat("y", 5000)}
	for range 30 {
		r.Perfdata = append(r.Perfdata, Perfdata{Label: strings.Repeat("p", 100), Value: f64(1)})
	}
	l.Normalize(r)
	if size := len(r.Output) + len(r.LongOutput) + len(r.Perfdata)*(perfItemOverhead+100); size > 2000 {
		t.Errorf("result is %d bytes over a 2000-byte total", size)
	}
	if !strings.HasSuffix(r.LongOutput, "[long output cut: the result is over its 2000-byte limit]") {
		t.Errorf("long output %q", r.LongOutput)
	}
	if l.Normalize(r) {
		t.Error("a second Normalize changed the result again")
	}
}

// FuzzNormalize: whatever arrives, the normalised result is clean UTF-8
// without NUL, within every limit, encodes as JSON PostgreSQL's jsonb
// accepts (no \u0000), and normalising again changes nothing. Small
// limits so the fuzzer reaches every cut.
func FuzzNormalize(f *testing.F) {
	f.Add("ok", "", "w", "label", "ms", "1:2", 1.0, 3, 0)
	f.Add("\x00\xff\xfe", "\xc3", "\x00", "\x00\xff", "\xff", "\x00", math.NaN(), 1, 7)
	f.Add(strings.Repeat("é", 40), strings.Repeat("\n", 300), strings.Repeat("w", 30), strings.Repeat("L", 30), "uuuuu", strings.Repeat("9", 20), math.Inf(-1), 40, -3)
	f.Add("x", strings.Repeat("€", 200), "", "a'b", "%", "@~:", 1e308, 12, 99)
	l := Limits{Output: 50, LongOutput: 200, PerfItems: 5, Label: 20, UOM: 4, Threshold: 10, Source: 20, Warnings: 3, Total: 600}
	f.Fuzz(func(t *testing.T, out, long, worker, label, uom, warn string, value float64, items, status int) {
		r := &Result{Status: Status(status), Output: out, LongOutput: long, Worker: worker, PerfdataWarnings: []string{out, label}}
		for i := range items % 64 {
			v := value + float64(i)
			r.Perfdata = append(r.Perfdata, Perfdata{Label: label + strings.Repeat("x", i%3), Value: &v, UOM: uom, Warn: warn, Crit: warn, Min: &value})
		}
		l.Normalize(r)
		strs := []string{r.Output, r.LongOutput, r.Worker}
		strs = append(strs, r.PerfdataWarnings...)
		for _, p := range r.Perfdata {
			strs = append(strs, p.Label, p.UOM, p.Warn, p.Crit)
			for _, v := range []*float64{p.Value, p.Min, p.Max} {
				if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
					t.Fatalf("non-finite number kept in %+v", p)
				}
			}
			if len(p.Label) > l.Label || len(p.UOM) > l.UOM || len(p.Warn) > l.Threshold {
				t.Fatalf("item over its limits: %+v", p)
			}
		}
		for _, s := range strs {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%q is not clean UTF-8", s)
			}
		}
		if len(r.Output) > l.Output || len(r.Worker) > l.Source || len(r.LongOutput) > max(l.LongOutput, 80) ||
			len(r.Perfdata) > l.PerfItems || len(r.PerfdataWarnings) > l.Warnings {
			t.Fatalf("over a limit: output %d, source %d, long %d, items %d, warnings %d",
				len(r.Output), len(r.Worker), len(r.LongOutput), len(r.Perfdata), len(r.PerfdataWarnings))
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("does not encode: %v", err)
		}
		if strings.Contains(string(body), `\u0000`) {
			t.Fatalf("JSON holds \\u0000, which jsonb refuses: %s", body)
		}
		if l.Normalize(r) {
			t.Fatalf("normalising again changed %+v", r)
		}
	})
}
