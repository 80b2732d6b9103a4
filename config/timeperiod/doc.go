// Package timeperiod parses Bergamot <time-range> strings (which include
// every Nagios timeperiod form) and evaluates time periods: whether an
// instant is inside a period, and when a period next begins.
//
// A range is an optional day qualifier followed by hours:
//
//	09:00-17:30                         every day
//	monday 00:00-09:00, 17:00-24:00     a weekday, several hour ranges
//	monday - friday 09:00-17:00         a span of weekdays
//	2026-12-25 00:00-24:00              a date
//	2027-01-01 - 2027-01-07 / 2 ...     a date range, every 2nd day
//	2008-04-01 / 7 ...                  every 7th day from a date, forever
//	december 31 08:00-12:00             a date every year
//	april 10 - may 15 / 2 ...           a span of dates every year
//	may 00:00-24:00                     a whole month
//	day 1 - 5 06:00-07:00               days of every month (day -1 is the last)
//	monday 3 00:00-24:00                the 3rd Monday of every month
//	monday 1 - wednesday 3 ...          from the 1st Monday to the 3rd Wednesday
//	thursday -1 november 00:00-24:00    the last Thursday in November
//
// Hours are wall-clock time in the period's Location; 24:00 is the end of
// the day, and Nagios's 00:00-00:00 selects a day with no hours in it.
//
// As in Nagios, date ranges (every form except a plain weekday or no
// qualifier) are exceptions: when one matches a day, the matching
// exceptions of the highest-precedence kind (calendar date, month date,
// month day, month week day, week day of month) alone decide the hours of
// that day, and weekday ranges are ignored for it.
package timeperiod
