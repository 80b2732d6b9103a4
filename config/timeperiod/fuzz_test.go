package timeperiod

import (
	"reflect"
	"testing"
	"time"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"09:00 - 17:30", "monday 00:00-09:00, 17:00-24:00", "monday - friday 09:00-17:00",
		"2026-12-25 00:00-24:00", "2027-01-01 - 2027-01-07 / 2 00:00-24:00", "2008-04-01 / 7 00:00-24:00",
		"december 31 08:00-12:00", "april 10 - may 15 /2 00:00-24:00", "july 10 - 15 00:00-01:00",
		"may 00:00-24:00", "day 1 - 5 06:00-07:00", "day -1 00:00-24:00", "monday 3 00:00-24:00",
		"monday 1 - wednesday 3 10:00-11:00", "thursday -1 november 00:00-24:00",
		"tuesday 1 april - friday 2 may / 6 00:00-24:00", "december 25 00:00-00:00",
		"monday 09:00-25:00", "day 31 - -1 00:00-01:00", "february -1 - march 1 / 3 12:00-13:00",
	} {
		f.Add(s)
	}
	from := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		again, err := ParseRange(r.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String %q does not: %v", s, r.String(), err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("%q -> %q -> %+v, want %+v", s, r.String(), again, r)
		}
		p := &Period{Ranges: []Range{r}}
		if got, ok := p.Next(from, nil); ok && (got.Before(from) || !p.Contains(got, nil)) {
			t.Fatalf("Next(%v) = %v, not inside or before", from, got)
		}
	})
}
