// Package errs is Bergamot's small set of error kinds. The kind decides what
// a client is told (GraphQL extensions.code, HTTP status) and whether a job
// is retried; the message is written for the person who caused it.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error.
type Kind int

// The kinds.
const (
	Internal        Kind = iota // a bug or an unexpected failure: details stay in the log
	Invalid                     // bad input: the message says what and where
	NotFound                    // no such object (or not visible to you)
	Forbidden                   // authenticated but not allowed
	Unauthenticated             // no or bad credentials
	Conflict                    // clashes with existing state (e.g. name taken)
	Transient                   // try again later
)

var codes = [...]string{"INTERNAL", "INVALID", "NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED", "CONFLICT", "TRANSIENT"}

// Code is the machine-readable code used in API errors.
func (k Kind) Code() string {
	if int(k) < len(codes) {
		return codes[k]
	}
	return "INTERNAL"
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Kind.Code()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a formatted message.
func E(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap attaches kind k and a message to err.
func Wrap(k Kind, err error, msg string) error {
	return &Error{Kind: k, Msg: msg, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, else Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
