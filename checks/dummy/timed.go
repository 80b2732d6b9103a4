package dummy

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func timed(_ *Engine, req *checks.Request, now time.Time) (*checks.Result, error) {
	minute := now.Hour()*60 + now.Minute()
	st := checks.StatusOK
	for _, p := range []struct {
		name string
		st   checks.Status
	}{{"critical", checks.StatusCritical}, {"warning", checks.StatusWarning}} {
		in, err := inTimeRanges(req.Param(p.name, ""), minute)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.name, err)
		}
		if in {
			st = p.st
			break
		}
	}
	return finish(req, st, fmt.Sprintf("%s at %02d:%02d", st, now.Hour(), now.Minute())), nil
}

// inTimeRanges reports whether minute (of the day) falls in one of the
// comma-separated HH:MM-HH:MM ranges (end exclusive; 24:00 is midnight).
func inTimeRanges(list string, minute int) (bool, error) {
	for r := range strings.SplitSeq(list, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		from, to, ok := strings.Cut(r, "-")
		if !ok {
			return false, fmt.Errorf("%q is not a range like 01:00-02:00", r)
		}
		a, err := parseClock(from)
		if err != nil {
			return false, fmt.Errorf("range %q: %w", r, err)
		}
		b, err := parseClock(to)
		if err != nil {
			return false, fmt.Errorf("range %q: %w", r, err)
		}
		if a <= b && minute >= a && minute < b || a > b && (minute >= a || minute < b) {
			return true, nil
		}
	}
	return false, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || h > 24 || m < 0 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return h*60 + m, nil
}

// cycle returns an executor stepping through statuses, one per period.
func cycle(defStatuses string, defPeriod time.Duration) executor {
	return func(_ *Engine, req *checks.Request, now time.Time) (*checks.Result, error) {
		list := req.Param("statuses", defStatuses)
		var statuses []checks.Status
		for name := range strings.SplitSeq(list, ",") {
			st, err := checks.ParseStatus(name)
			if err != nil {
				return nil, fmt.Errorf("parameter statuses: %w", err)
			}
			statuses = append(statuses, st)
		}
		period := defPeriod
		if p := req.Param("period", ""); p != "" {
			d, err := time.ParseDuration(strings.TrimSpace(p))
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("parameter period: %q is not a positive duration like 30s", p)
			}
			period = d
		}
		h := fnv.New32a()
		h.Write([]byte(req.CheckID))
		step := uint64(now.UnixNano()/int64(period)) + uint64(h.Sum32())
		st := statuses[step%uint64(len(statuses))]
		return finish(req, st, fmt.Sprintf("%s (cycling through %s every %s)", st, list, period)), nil
	}
}
