package jmx

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Request is one Jolokia request (protocol version 7).
type Request struct {
	Type      string `json:"type"`
	MBean     string `json:"mbean,omitempty"`
	Attribute string `json:"attribute,omitempty"`
	Path      string `json:"path,omitempty"`
}

// reply is one Jolokia response object.
type reply struct {
	Status    *int            `json:"status"`
	Value     json.RawMessage `json:"value"`
	Error     string          `json:"error"`
	ErrorType string          `json:"error_type"`
}

// Error is an error the agent reported for a request.
type Error struct {
	Status int
	Type   string // the Java exception class
	Msg    string
}

func (e *Error) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("%s (%s, status %d)", e.Msg, shortClass(e.Type), e.Status)
	}
	return fmt.Sprintf("%s (status %d)", e.Msg, e.Status)
}

// NotFound reports whether the MBean or attribute does not exist.
func (e *Error) NotFound() bool { return e.Status == 404 }

func shortClass(c string) string {
	if i := strings.LastIndexByte(c, '.'); i >= 0 {
		return c[i+1:]
	}
	return c
}

// maxReply bounds a reply's size.
const maxReply = 8 << 20

// ParseReply decodes a Jolokia reply to n requests (one object, or an array
// for a bulk request) into one value or error per request. It never trusts
// the agent: malformed JSON, a count that does not match, a missing status
// or an error without a message are errors naming what is wrong.
func ParseReply(body []byte, n int) ([]json.RawMessage, []error, error) {
	if len(body) > maxReply {
		return nil, nil, fmt.Errorf("jolokia reply of %d bytes is larger than %d", len(body), maxReply)
	}
	var items []reply
	trimmed := strings.TrimSpace(string(body))
	switch {
	case strings.HasPrefix(trimmed, "["):
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, fmt.Errorf("jolokia reply is not valid JSON: %w", err)
		}
	case strings.HasPrefix(trimmed, "{"):
		var one reply
		if err := json.Unmarshal(body, &one); err != nil {
			return nil, nil, fmt.Errorf("jolokia reply is not valid JSON: %w", err)
		}
		items = []reply{one}
	default:
		return nil, nil, fmt.Errorf("jolokia reply is not a JSON object or array (starts %q)", printable(trimmed, 40))
	}
	if len(items) != n {
		if len(items) == 1 && items[0].Status != nil && *items[0].Status != 200 {
			// The whole bulk request failed.
			return nil, nil, items[0].err()
		}
		return nil, nil, fmt.Errorf("jolokia reply has %d results for %d requests", len(items), n)
	}
	vals := make([]json.RawMessage, n)
	errs := make([]error, n)
	for i, it := range items {
		switch {
		case it.Status == nil:
			errs[i] = errors.New("jolokia reply has no status")
		case *it.Status != 200:
			errs[i] = it.err()
		case len(it.Value) == 0:
			errs[i] = errors.New("jolokia reply has no value")
		default:
			vals[i] = it.Value
		}
	}
	return vals, errs, nil
}

func (r reply) err() error {
	msg := r.Error
	if msg == "" {
		msg = "the agent reported an error without a message"
	}
	st := 0
	if r.Status != nil {
		st = *r.Status
	}
	return &Error{Status: st, Type: r.ErrorType, Msg: printable(msg, 500)}
}

// printable cuts s to max bytes of valid UTF-8.
func printable(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
