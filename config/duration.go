package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseInterval parses a Bergamot interval: a bare number is minutes,
// otherwise a number with an s, m or h suffix (`150s`, `1m`, `1h`). Go
// duration strings such as `1h30m` are accepted too.
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty interval")
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Minute, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid interval %q (want minutes, or a number with s, m or h)", s)
	}
	return d, nil
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 1000 {
		return 0, fmt.Errorf("invalid count %q (want a whole number from 1 to 1000)", s)
	}
	return n, nil
}
