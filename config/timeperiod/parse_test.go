package timeperiod

import (
	"reflect"
	"testing"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in, want string // want is the canonical String()
		kind     Kind
	}{
		{"09:00 - 17:30", "09:00-17:30", KindEveryDay},
		{"monday 00:00-09:00, 17:00-24:00", "monday 00:00-09:00, 17:00-24:00", KindWeekly},
		{"Monday    09:00 - 10:00, 12:00 - 13:00", "monday 09:00-10:00, 12:00-13:00", KindWeekly},
		{"monday - friday 09:00-17:00", "monday - friday 09:00-17:00", KindWeekly},
		{"saturday-sunday 09:00-17:00", "saturday - sunday 09:00-17:00", KindWeekly},
		{"2026-12-25 00:00-24:00", "2026-12-25 00:00-24:00", KindCalendarDate},
		{"2027-01-01 - 2027-01-07 / 2 00:00-24:00", "2027-01-01 - 2027-01-07 / 2 00:00-24:00", KindCalendarDate},
		{"2008-04-01 / 7 00:00-24:00", "2008-04-01 / 7 00:00-24:00", KindCalendarDate},
		{"2015-12-31 00:10-00:15", "2015-12-31 00:10-00:15", KindCalendarDate},
		{"december 31 08:00-12:00", "december 31 08:00-12:00", KindMonthDate},
		{"july 10 - 15 / 2 00:00-24:00", "july 10 - july 15 / 2 00:00-24:00", KindMonthDate},
		{"april 10 - may 15 /2 00:00-24:00", "april 10 - may 15 / 2 00:00-24:00", KindMonthDate},
		{"february -1 00:00-24:00", "february -1 00:00-24:00", KindMonthDate},
		{"may 00:00-24:00", "may 00:00-24:00", KindMonthDate},
		{"july 00:00-02:00", "july 00:00-02:00", KindMonthDate},
		{"day 1 - 5 06:00-07:00", "day 1 - 5 06:00-07:00", KindMonthDay},
		{"day -1 00:00-24:00", "day -1 00:00-24:00", KindMonthDay},
		{"day 1 - 15 / 5 00:00-24:00", "day 1 - 15 / 5 00:00-24:00", KindMonthDay},
		{"monday 3 00:00-24:00", "monday 3 00:00-24:00", KindWeekDay},
		{"monday 1 - wednesday 3 10:00-11:00", "monday 1 - wednesday 3 10:00-11:00", KindWeekDay},
		{"monday -1 may 00:00-24:00", "monday -1 may 00:00-24:00", KindMonthWeekDay},
		{"thursday -1 november 00:00-24:00", "thursday -1 november 00:00-24:00", KindMonthWeekDay},
		{"tuesday 1 april - friday 2 may / 6 00:00-24:00", "tuesday 1 april - friday 2 may / 6 00:00-24:00", KindMonthWeekDay},
		{"december 25 00:00-00:00", "december 25 00:00-00:00", KindMonthDate},
		{"9:00-17:00", "09:00-17:00", KindEveryDay},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRange(tt.in)
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if r.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v", r.Kind, tt.kind)
			}
			again, err := ParseRange(r.String())
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Errorf("round trip of %q: %+v, %v; want %+v", r.String(), again, err, r)
			}
		})
	}
}

func TestParseRangeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"monday 09:00-25:00", `bad time "25:00" in "monday 09:00-25:00"`},
		{"monday 09:60-10:00", `bad time "09:60" in "monday 09:60-10:00"`},
		{"monday 24:30-24:30", `bad time "24:30" in "monday 24:30-24:30"`},
		{"monday", `missing hours (like 09:00-17:00) in "monday"`},
		{"", `missing hours (like 09:00-17:00) in ""`},
		{"monday 09:00", `bad hours "09:00" (want HH:MM-HH:MM) in "monday 09:00"`},
		{"monday 17:00-09:00", `hours "17:00-09:00" end before they start in "monday 17:00-09:00"`},
		{"monday 09:00-17:00 weekly", `bad time "17:00 weekly" in "monday 09:00-17:00 weekly"`},
		{"funday 09:00-10:00", `unknown day "funday" in "funday 09:00-10:00"`},
		{"day 0 00:00-24:00", `bad day number "0" in "day 0 00:00-24:00"`},
		{"day 32 00:00-24:00", `bad day number "32" in "day 32 00:00-24:00"`},
		{"day 00:00-24:00", `missing day number in "day 00:00-24:00"`},
		{"february 30 00:00-24:00", `bad day number "30" in "february 30 00:00-24:00"`},
		{"monday 6 00:00-24:00", `bad week number "6" in "monday 6 00:00-24:00"`},
		{"monday 0 may 00:00-24:00", `bad week number "0" in "monday 0 may 00:00-24:00"`},
		{"2026-02-30 00:00-24:00", `bad date "2026-02-30" in "2026-02-30 00:00-24:00"`},
		{"2027-01-07 - 2027-01-01 00:00-24:00", `date range ends before it starts in "2027-01-07 - 2027-01-01 00:00-24:00"`},
		{"monday 1 - day 3 00:00-24:00", `range mixes a week day of month with a month day in "monday 1 - day 3 00:00-24:00"`},
		{"monday - 00:00-24:00", `missing day after "-" in "monday - 00:00-24:00"`},
		{"monday / 2 00:00-24:00", `skip "/ 2" needs a date range in "monday / 2 00:00-24:00"`},
		{"day 1 - 5 / 0 00:00-24:00", `bad skip number "0" in "day 1 - 5 / 0 00:00-24:00"`},
		{"day 1 - 5 / 00:00-24:00", `missing skip number in "day 1 - 5 / 00:00-24:00"`},
		{"monday tuesday 00:00-24:00", `unexpected "tuesday" in "monday tuesday 00:00-24:00"`},
		{"monday; 00:00-24:00", `unexpected ";" in "monday; 00:00-24:00"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseRange(tt.in)
			if err == nil {
				t.Fatalf("ParseRange(%q) succeeded, want error %q", tt.in, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseRange(%q) error\n got %q\nwant %q", tt.in, err.Error(), tt.want)
			}
		})
	}
}
