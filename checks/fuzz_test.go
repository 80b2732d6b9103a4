package checks

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParsePluginOutput(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.Input))
	}
	f.Add([]byte("\x00\xff|a=1\n\xfe\n"))
	f.Add([]byte("\n\n\n|"))
	f.Fuzz(func(t *testing.T, out []byte) {
		po := ParsePluginOutput(out)
		for name, s := range map[string]string{"status": po.Status, "long": po.LongOutput, "perfdata": po.Perfdata} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%s %q is not clean UTF-8", name, s)
			}
		}
		if strings.ContainsAny(po.Status, "\n;") || strings.Trim(po.Status, whitespace) != po.Status {
			t.Fatalf("status %q has a newline, ';' or untrimmed space", po.Status)
		}
		if po.Perfdata != strings.Trim(po.Perfdata, whitespace) || strings.Contains(po.Perfdata, "\n") {
			t.Fatalf("perfdata %q not trimmed or has a newline", po.Perfdata)
		}
		if len(po.Status)+len(po.LongOutput)+len(po.Perfdata) > 3*len(out)+len(NoOutput) {
			t.Fatalf("output grew: %d bytes in", len(out))
		}
		ParsePerfdata(po.Perfdata)
	})
}

func FuzzParsePerfdata(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Expected.PerformanceData != nil {
			f.Add(*v.Expected.PerformanceData)
		}
	}
	f.Add("'a'''=1;2;3;4;5;6 b=U;;;; 'c d'=-.5e3;@~:;1:;x;y")
	f.Add("big=1e3 small=-3.2e-7ms tiny=5.8e-8 junk=10m2 hex=0x10 pipe=5|x=1 u=U%;80;90;0;100 v=Ums;1;2")
	f.Fuzz(func(t *testing.T, raw string) {
		items, warnings := ParsePerfdata(raw)
		if strings.Trim(raw, " \t\r\n") != "" && len(items)+len(warnings) == 0 {
			t.Fatalf("%q: no items and no warnings", raw)
		}
		for _, p := range items {
			if p.Label == "" {
				t.Fatalf("%q: item with empty label", raw)
			}
			if p.Value != nil && (math.IsNaN(*p.Value) || math.IsInf(*p.Value, 0)) {
				t.Fatalf("%q: value %v", raw, *p.Value)
			}
			if strings.ContainsAny(p.UOM, " ;\t") {
				t.Fatalf("%q: UOM %q", raw, p.UOM)
			}
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@0", "~:", "5:1", "abc", "-1", "@-3:3", "1e3:", ".5:3.", ""} {
		f.Add(s, 0.0)
		f.Add(s, 15.0)
	}
	f.Fuzz(func(t *testing.T, s string, v float64) {
		r, err := ParseRange(s)
		if err != nil {
			if !strings.Contains(err.Error(), "range") {
				t.Fatalf("%q: error %v does not name the range", s, err)
			}
			return
		}
		if r.Start > r.End || math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("%q: bad range %+v", s, r)
		}
		back, err := ParseRange(r.String())
		if err != nil || back != r {
			t.Fatalf("%q: String %q gives %+v, %v; want %+v", s, r.String(), back, err, r)
		}
		if !math.IsNaN(v) {
			in := v >= r.Start && v <= r.End
			if r.Alert(v) != (in == r.Inside) {
				t.Fatalf("%q: Alert(%v) = %v", s, v, r.Alert(v))
			}
		}
	})
}

// FuzzSplitWords: never panics; words never contain an unquoted separator
// the input did not escape, and joining simple words round-trips.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"-w 80 -c 90", `'-w 80' "-c 90" x\ y`, `a "b\"c" 'd\'`, `unterminated 'quote`, `"`, ``, "\t a  \n b ", `\`, `"a\$b\q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitWords(s)
		if err != nil {
			if !strings.Contains(err.Error(), "unterminated") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !strings.ContainsAny(s, `'"\`) {
			fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' })
			if got := strings.Join(words, " "); got != strings.Join(fields, " ") {
				t.Fatalf("%q: %q, want the fields", s, words)
			}
		}
		for _, w := range words {
			if w == "" && !strings.ContainsAny(s, `'"\`) {
				t.Fatalf("%q: empty word without quotes: %q", s, words)
			}
		}
	})
}
