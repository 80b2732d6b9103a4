package timeperiod

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the host's zoneinfo
)

// loadNagios reads the timeperiods of nagios4's objects.cache (copied from
// fixtures/nagios/import/edge.objects.cache) the way the importer does:
// "DAYS<TAB>HOURS" lines joined with a space.
func loadNagios(t *testing.T) map[string]*Period {
	t.Helper()
	f, err := os.Open("testdata/nagios-timeperiods.cache")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*Period{}
	var cur *Period
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		switch {
		case fields[0] == "define timeperiod {":
			cur = &Period{}
		case fields[0] == "}":
			out[cur.Name] = cur
		case fields[0] == "timeperiod_name":
			cur.Name = fields[1]
		case fields[0] == "alias":
		case fields[0] == "exclude":
			cur.Excludes = strings.Split(fields[1], ",")
		case len(fields) == 2:
			r, err := ParseRange(fields[0] + " " + fields[1])
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			cur.Ranges = append(cur.Ranges, r)
		}
	}
	return out
}

// loadBergamot reads Bergamot's own base timeperiods.xml (copied from
// fixtures/bergamot-config/base) with the given zone.
func loadBergamot(t *testing.T, loc *time.Location) map[string]*Period {
	t.Helper()
	data, err := os.ReadFile("testdata/bergamot-timeperiods.xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Periods []struct {
			Name     string   `xml:"name,attr"`
			Excludes string   `xml:"excludes,attr"`
			Ranges   []string `xml:"time-range"`
		} `xml:"time-period"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]*Period{}
	for _, tp := range doc.Periods {
		p := &Period{Name: tp.Name, Location: loc}
		if tp.Excludes != "" {
			p.Excludes = strings.Split(tp.Excludes, ",")
		}
		for _, s := range tp.Ranges {
			r, err := ParseRange(s)
			if err != nil {
				t.Fatalf("time period %s: %v", tp.Name, err)
			}
			p.Ranges = append(p.Ranges, r)
		}
		out[p.Name] = p
	}
	return out
}

func lookupIn(m map[string]*Period) Lookup {
	return func(name string) *Period { return m[strings.TrimSpace(name)] }
}

func mustTime(t *testing.T, s string, loc *time.Location) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestContainsNagiosEdge(t *testing.T) {
	periods := loadNagios(t)
	tests := []struct {
		period, at string
		want       bool
		why        string
	}{
		{"tp-edge", "2026-06-01 06:30", true, "day 1 - 5 06:00-07:00 (month day beats week day of month)"},
		{"tp-edge", "2026-06-01 08:00", false, "month day overrides monday 00:00-09:00"},
		{"tp-edge", "2026-06-01 10:30", false, "month day outranks monday 1 - wednesday 3"},
		{"tp-edge", "2026-06-08 10:30", true, "monday 1 - wednesday 3 10:00-11:00"},
		{"tp-edge", "2026-06-08 08:00", false, "week day of month overrides monday"},
		{"tp-edge", "2026-06-15 08:00", true, "monday 3 (same kind as the span: both apply)"},
		{"tp-edge", "2026-06-15 18:00", true, "monday 3 all day"},
		{"tp-edge", "2026-06-22 08:00", true, "plain monday 00:00-09:00"},
		{"tp-edge", "2026-06-22 10:30", false, "4th monday is outside 1st monday - 3rd wednesday"},
		{"tp-edge", "2026-06-22 17:00", true, "monday 17:00-24:00"},
		{"tp-edge", "2026-06-23 12:00", true, "tuesday 09:00-17:00"},
		{"tp-edge", "2026-06-23 17:00", false, "end is exclusive"},
		{"tp-edge", "2026-06-24 12:00", false, "no wednesday"},
		{"tp-edge", "2026-12-25 03:00", true, "2026-12-25"},
		{"tp-edge", "2026-12-31 09:00", true, "december 31 08:00-12:00"},
		{"tp-edge", "2026-12-31 13:00", false, "december 31 08:00-12:00"},
		{"tp-edge", "2027-01-01 03:00", false, "excluded by tp-holidays"},
		{"tp-edge", "2027-01-03 03:00", true, "every 2nd day from 2027-01-01"},
		{"tp-edge", "2027-01-04 03:00", false, "skipped day; day 4 gives 06:00-07:00 only"},
		{"tp-edge", "2027-01-04 06:30", true, "day 1 - 5"},
		{"tp-edge", "2026-11-26 03:00", true, "thursday -1 november"},
		{"tp-edge", "2026-11-19 03:00", false, "not the last thursday"},
		{"tp-edge", "2026-07-20 03:00", true, "monday 3"},
		{"24x7_sans_holidays", "2026-12-24 12:00", true, "sunday..saturday 24h"},
		{"24x7_sans_holidays", "2026-12-25 12:00", false, "december 25 00:00-00:00 overrides the weekday"},
		{"24x7_sans_holidays", "2026-05-25 12:00", false, "monday -1 may"},
		{"24x7_sans_holidays", "2026-11-26 12:00", false, "thursday 4 november"},
		{"none", "2026-11-26 12:00", false, "no ranges"},
		{"workhours", "2026-11-26 12:00", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.period+" "+tt.at, func(t *testing.T) {
			p := periods[tt.period]
			if got := p.Contains(mustTime(t, tt.at, time.UTC), lookupIn(periods)); got != tt.want {
				t.Errorf("Contains = %v, want %v (%s)", got, tt.want, tt.why)
			}
		})
	}
}

func TestContainsBergamotBase(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	periods := loadBergamot(t, london)
	if len(periods) != 7 {
		t.Fatalf("loaded %d periods, want 7", len(periods))
	}
	for name, p := range periods {
		if err := p.CheckExcludes(lookupIn(periods)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	tests := []struct {
		period, at string
		want       bool
	}{
		{"uk-workhours", "2015-05-04 10:00", false}, // monday 1 may
		{"uk-workhours", "2015-05-05 10:00", true},
		{"uk-workhours", "2015-05-25 10:00", false}, // monday -1 may
		{"uk-workhours", "2015-08-31 10:00", false}, // monday -1 august
		{"uk-workhours", "2015-12-24 17:29", true},
		{"uk-workhours", "2015-12-24 17:30", false},
		{"uk-workhours", "2015-12-26 10:00", false}, // saturday
		{"uk-outofhours", "2015-05-04 10:00", true},
		{"uk-outofhours", "2015-05-05 10:00", false},
		{"uk-outofhours", "2015-05-05 20:00", true},
		{"24x7-except-uk-holidays", "2015-12-25 23:59", false},
		{"24x7-except-uk-holidays", "2015-12-27 00:00", true},
		{"weekends", "2015-12-27 08:00", true},
		{"weekdays", "2015-12-27 08:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.period+" "+tt.at, func(t *testing.T) {
			at := mustTime(t, tt.at, london)
			if got := periods[tt.period].Contains(at, lookupIn(periods)); got != tt.want {
				t.Errorf("Contains = %v, want %v", got, tt.want)
			}
		})
	}
}

func period(t *testing.T, name string, loc *time.Location, excludes []string, ranges ...string) *Period {
	t.Helper()
	p := &Period{Name: name, Location: loc, Excludes: excludes}
	for _, s := range ranges {
		r, err := ParseRange(s)
		if err != nil {
			t.Fatal(err)
		}
		p.Ranges = append(p.Ranges, r)
	}
	return p
}

func TestNext(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	newYork, _ := time.LoadLocation("America/New_York")
	base := loadBergamot(t, london)
	base["ny-office"] = period(t, "ny-office", newYork, nil, "09:00-17:00")
	base["all-but-ny-office"] = period(t, "all-but-ny-office", nil, []string{"ny-office"}, "00:00-24:00")
	base["spring"] = period(t, "spring", london, nil, "sunday 01:30-03:00")
	base["daily"] = period(t, "daily", london, nil, "09:00-10:00")
	base["fall"] = period(t, "fall", london, nil, "sunday 01:30-01:45")
	base["none"] = period(t, "none", nil, nil)
	tests := []struct {
		period, from, want string // RFC 3339; want "" means none
	}{
		{"uk-workhours", "2015-12-24T18:00:00Z", "2015-12-28T09:00:00Z"},
		{"uk-workhours", "2015-12-24T10:00:00Z", "2015-12-24T10:00:00Z"}, // already inside
		{"uk-workhours", "2015-06-30T23:30:00Z", "2015-07-01T08:00:00Z"}, // 09:00 BST
		{"uk-outofhours", "2015-12-24T10:00:00Z", "2015-12-24T17:30:00Z"},
		{"24x7-except-uk-holidays", "2015-12-25T10:00:00Z", "2015-12-27T00:00:00Z"},
		{"uk-holidays", "2015-09-01T00:00:00Z", "2015-12-25T00:00:00Z"},
		// Spring forward: 01:00 GMT becomes 02:00 BST, so 01:30-02:00 never
		// happens and the range opens at the jump.
		{"spring", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
		{"daily", "2026-03-28T10:00:00Z", "2026-03-29T08:00:00Z"},
		// Fall back: 01:30-01:45 happens twice, once in BST, once in GMT.
		{"fall", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z"},
		{"fall", "2026-10-25T00:45:00Z", "2026-10-25T01:30:00Z"},
		{"fall", "2026-10-25T01:45:00Z", "2026-11-01T01:30:00Z"},
		// An exclude in another zone.
		{"all-but-ny-office", "2026-01-05T15:00:00Z", "2026-01-05T22:00:00Z"},
		{"none", "2026-01-05T15:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.period+" "+tt.from, func(t *testing.T) {
			from, _ := time.Parse(time.RFC3339, tt.from)
			got, ok := base[tt.period].Next(from, lookupIn(base))
			if tt.want == "" {
				if ok {
					t.Fatalf("Next = %v, want none", got)
				}
				return
			}
			want, _ := time.Parse(time.RFC3339, tt.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("Next = %v, %v; want %v", got.UTC(), ok, want)
			}
			if !base[tt.period].Contains(got, lookupIn(base)) {
				t.Errorf("Next returned %v which is not inside", got)
			}
			if before := got.Add(-time.Second); before.After(from) && base[tt.period].Contains(before, lookupIn(base)) {
				t.Errorf("%v is inside too: Next is not the first", before)
			}
		})
	}
}

func TestContainsAcrossFallBack(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	p := period(t, "fall", london, nil, "sunday 01:30-01:45")
	for _, at := range []string{"2026-10-25T00:40:00Z", "2026-10-25T01:40:00Z"} { // BST and GMT
		tm, _ := time.Parse(time.RFC3339, at)
		if !p.Contains(tm, nil) {
			t.Errorf("%s (%s) not inside sunday 01:30-01:45", at, tm.In(london).Format("15:04 MST"))
		}
	}
}

func TestCheckExcludes(t *testing.T) {
	m := map[string]*Period{
		"a": {Name: "a", Excludes: []string{"b"}},
		"b": {Name: "b", Excludes: []string{"c"}},
		"c": {Name: "c", Excludes: []string{"a"}},
		"d": {Name: "d", Excludes: []string{"nope"}},
	}
	if err := m["a"].CheckExcludes(lookupIn(m)); err == nil || err.Error() != "time periods exclude each other in a cycle: a -> b -> c -> a" {
		t.Errorf("cycle: got %v", err)
	}
	if err := m["d"].CheckExcludes(lookupIn(m)); err == nil || err.Error() != `time period "d" excludes unknown time period "nope"` {
		t.Errorf("unknown: got %v", err)
	}
	// A cycle must not hang evaluation.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = m["a"].Contains(at, lookupIn(m))
	_, _ = m["a"].Next(at, lookupIn(m))
}

// BenchmarkNextRare measures the worst case: a period that never starts
// within Horizon (a far-off date, and 24x7 minus 24x7).
func BenchmarkNextRare(b *testing.B) {
	london, _ := time.LoadLocation("Europe/London")
	far, _ := ParseRange("2040-01-01 00:00-24:00")
	all, _ := ParseRange("00:00-24:00")
	m := map[string]*Period{
		"far":   {Name: "far", Ranges: []Range{far}, Location: london},
		"all":   {Name: "all", Ranges: []Range{all}},
		"never": {Name: "never", Ranges: []Range{all}, Excludes: []string{"all"}, Location: london},
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"far", "never"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, ok := m[name].Next(at, lookupIn(m)); ok {
					b.Fatal("found an instant")
				}
			}
		})
	}
}

// Periods sharing exclusions (each level excludes both of the next) are
// evaluated once each per call: 40 levels would be 2^40 visits otherwise.
func TestContainsIsLinearInSharedExcludes(t *testing.T) {
	periods := map[string]*Period{}
	const levels = 40
	for i := range levels {
		p := &Period{Name: fmt.Sprintf("a%d", i)}
		q := &Period{Name: fmt.Sprintf("b%d", i)}
		if i < levels-1 {
			p.Excludes = []string{fmt.Sprintf("a%d", i+1), fmt.Sprintf("b%d", i+1)}
			q.Excludes = p.Excludes
		}
		periods[p.Name], periods[q.Name] = p, q
	}
	done := make(chan bool)
	go func() { done <- periods["a0"].Contains(time.Now(), func(n string) *Period { return periods[n] }) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Contains did not finish in 10 s")
	}
}
