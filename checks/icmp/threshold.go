package icmp

import (
	"fmt"
	"strconv"
	"strings"
)

// limit is a check_ping threshold pair: round-trip average in ms and packet
// loss in percent ("100.0,20%").
type limit struct {
	rtaMS, lossPct float64
	set            bool
}

// parseLimit parses "rta,pl%" as check_ping's -w and -c take it; param
// names the parameter in errors. "" means no threshold.
func parseLimit(param, s string) (limit, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return limit{}, nil
	}
	rta, pl, ok := strings.Cut(s, ",")
	if !ok {
		return limit{}, fmt.Errorf("parameter %q: %q is not <rta ms>,<loss>%% (e.g. 100.0,20%%)", param, s)
	}
	r, err := strconv.ParseFloat(strings.TrimSpace(rta), 64)
	if err != nil || r < 0 || r != r {
		return limit{}, fmt.Errorf("parameter %q: round-trip time %q is not a number of milliseconds", param, rta)
	}
	pl = strings.TrimSuffix(strings.TrimSpace(pl), "%")
	p, err := strconv.ParseFloat(pl, 64)
	if err != nil || p < 0 || p > 100 {
		return limit{}, fmt.Errorf("parameter %q: packet loss %q is not a percentage 0-100", param, pl)
	}
	return limit{rtaMS: r, lossPct: p, set: true}, nil
}

// exceeded reports whether rta (ms) or loss (%) reaches the limit, as
// check_ping judges it. rta is ignored when every packet was lost.
func (l limit) exceeded(rta, loss float64, anyReply bool) bool {
	if !l.set {
		return false
	}
	return loss >= l.lossPct && l.lossPct > 0 || loss == 100 || anyReply && rta >= l.rtaMS
}
