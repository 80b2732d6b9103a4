package notifiers

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// DoHTTP sends req with client (http.DefaultClient when nil), reads up to
// 64 KiB of the answer and classifies the outcome for channel: network
// errors and timeouts are transient, non-2xx answers as CheckHTTPResponse
// says. It returns the body read.
func DoHTTP(client *http.Client, channel string, req *http.Request) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", channel, req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%s: reading answer from %s: %w", channel, req.URL.Redacted(), err)
	}
	return body, CheckHTTPResponse(channel, resp, body)
}

// ValidateHTTPURL checks that raw is an absolute http or https URL; the
// error names the channel and field, e.g. `webhook: url "ftp://x" must be
// http or https`.
func ValidateHTTPURL(channel, field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s: %s is required", channel, field)
	}
	u, err := parseURL(raw)
	if err != nil {
		return fmt.Errorf("%s: %s %q: %w", channel, field, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: %s %q must be http or https", channel, field, raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%s: %s %q has no host", channel, field, raw)
	}
	return nil
}

func parseURL(raw string) (*url.URL, error) { return url.Parse(raw) }
