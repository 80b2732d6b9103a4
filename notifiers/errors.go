package notifiers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// ErrUnknownChannel is returned by dispatch.Channels for a name never registered.
var ErrUnknownChannel = errors.New("notifiers: unknown channel")

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the caller must not retry (a 4xx answer,
// failed authentication, an invalid address). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err must not be retried: it was marked with
// Permanent, or it is an errs.Error of kind Invalid, Forbidden or
// Unauthenticated. Everything else (timeouts, refused connections, 5xx) is
// transient and worth retrying with backoff.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	switch {
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Forbidden), errs.Is(err, errs.Unauthenticated):
		return true
	}
	return false
}

// HTTPError is a non-2xx answer from an HTTP API.
type HTTPError struct {
	// Channel names the notifier, e.g. "webhook".
	Channel string
	// StatusCode and Body (trimmed, at most 512 bytes) of the answer. Body
	// is for the channel to interpret (an API's error code); Error never
	// includes it, as the answer may come from a server inside the
	// operator's network and the error is shown to the site.
	StatusCode int
	Body       string
	// Code is a short error code the channel read from Body (Slack's
	// "no_service"); Error includes it.
	Code string
	// RetryAfter is the server's Retry-After, when it gave one.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: server answered %d %s", e.Channel, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		msg += ": " + e.Code
	}
	return msg
}

// CheckHTTPResponse returns nil for a 2xx answer and otherwise an
// *HTTPError, marked Permanent for 4xx answers other than 408 (timeout),
// 425 (too early) and 429 (rate limited). It does not close the body.
func CheckHTTPResponse(channel string, resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	he := &HTTPError{Channel: channel, StatusCode: resp.StatusCode, Body: trimBody(body)}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if d, err := time.ParseDuration(strings.TrimSpace(ra) + "s"); err == nil {
			he.RetryAfter = d
		}
	}
	if PermanentHTTPStatus(resp.StatusCode) {
		return Permanent(he)
	}
	return he
}

// PermanentHTTPStatus reports whether an HTTP status code means retrying the
// same request is pointless: 4xx except 408, 425 and 429.
func PermanentHTTPStatus(code int) bool {
	if code < 400 || code >= 500 {
		return false
	}
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return true
}

func trimBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}

// IsTimeout reports whether err is a deadline or network timeout.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Backoff is the suggested delay before retry number attempt (1-based) of a
// transient failure: 30s doubling per attempt, capped at one hour.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
