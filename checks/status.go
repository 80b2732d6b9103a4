package checks

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Status is the state of a check, as Bergamot defines it. The zero value is
// StatusPending.
type Status int

// The statuses, in Bergamot's order. Severity (see Status.Severity) decides
// which is "worse"; the numeric value is only an identifier.
const (
	StatusPending Status = iota
	StatusInfo
	StatusOK
	StatusWarning
	StatusCritical
	StatusUnknown
	StatusTimeout
	StatusError
	StatusDisconnected
	StatusAction
)

var statusNames = [...]string{"PENDING", "INFO", "OK", "WARNING", "CRITICAL", "UNKNOWN", "TIMEOUT", "ERROR", "DISCONNECTED", "ACTION"}

// severity ranks statuses from best to worst. ACTION and INFO are OK-like.
var statusSeverity = [...]int{
	StatusPending:      1,
	StatusInfo:         0,
	StatusOK:           0,
	StatusAction:       2,
	StatusWarning:      3,
	StatusUnknown:      4,
	StatusTimeout:      5,
	StatusCritical:     6,
	StatusDisconnected: 7,
	StatusError:        8,
}

// AllStatuses lists every status in declaration order.
func AllStatuses() []Status {
	out := make([]Status, len(statusNames))
	for i := range out {
		out[i] = Status(i)
	}
	return out
}

// String returns the upper-case name used in the API and configuration.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return statusNames[s]
}

// ParseStatus parses a status name, case-insensitively.
func ParseStatus(name string) (Status, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	for i, s := range statusNames {
		if s == n {
			return Status(i), nil
		}
	}
	return StatusPending, fmt.Errorf("unknown status %q (want one of %s)", name, strings.Join(statusNames[:], ", "))
}

// OK reports whether the status counts as healthy (OK, INFO, and PENDING
// which has not failed yet).
func (s Status) OK() bool {
	return s == StatusOK || s == StatusInfo || s == StatusPending || s == StatusAction
}

// Severity ranks the status: higher is worse. OK and INFO are 0.
func (s Status) Severity() int {
	if s < 0 || int(s) >= len(statusSeverity) {
		return 100
	}
	return statusSeverity[s]
}

// Worse reports whether s is strictly worse than o.
func (s Status) Worse(o Status) bool { return s.Severity() > o.Severity() }

// FromNagiosExit maps a plugin exit code to a status: 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN; anything else is an ERROR (the caller explains why).
func FromNagiosExit(code int) (Status, bool) {
	switch code {
	case 0:
		return StatusOK, true
	case 1:
		return StatusWarning, true
	case 2:
		return StatusCritical, true
	case 3:
		return StatusUnknown, true
	}
	return StatusError, false
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalGQL writes the status as a GraphQL enum value.
func (s Status) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(s.String())) }

// UnmarshalGQL reads a GraphQL enum value.
func (s *Status) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("status must be a string, got %T", v)
	}
	return s.UnmarshalText([]byte(str))
}
