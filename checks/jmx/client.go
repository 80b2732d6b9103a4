package jmx

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Client talks to one Jolokia agent.
type Client struct {
	URL            string
	User, Password string
	HTTP           *http.Client
}

// newHTTPClient makes a client that dials through dial and keeps no
// connection after the check (CloseIdleConnections).
func newHTTPClient(dial func(ctx context.Context, network, addr string) (net.Conn, error), insecure bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         dial,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // the check's own "ssl_insecure" parameter
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     5 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Do sends requests as one bulk POST and returns a value or error per request.
func (c *Client) Do(ctx context.Context, reqs ...Request) ([]json.RawMessage, []error, error) {
	var body any = reqs
	if len(reqs) == 1 {
		body = reqs[0]
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.User != "" {
		hr.SetBasicAuth(c.User, c.Password)
	}
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return nil, nil, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, nil, fmt.Errorf("the Jolokia agent refused the credentials (HTTP %d)", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, nil, fmt.Errorf("the Jolokia agent answered HTTP %d %s", resp.StatusCode, printable(string(data), 200))
	}
	return ParseReply(data, len(reqs))
}

// Read reads one attribute (all when attribute is empty) of an MBean or
// MBean pattern.
func (c *Client) Read(ctx context.Context, mbean, attribute, path string) (json.RawMessage, error) {
	vals, errs, err := c.Do(ctx, Request{Type: "read", MBean: mbean, Attribute: attribute, Path: path})
	if err != nil {
		return nil, err
	}
	return vals[0], errs[0]
}

// Search lists the MBean names matching a pattern.
func (c *Client) Search(ctx context.Context, pattern string) ([]string, error) {
	vals, errs, err := c.Do(ctx, Request{Type: "search", MBean: pattern})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	var names []string
	if err := json.Unmarshal(vals[0], &names); err != nil {
		return nil, fmt.Errorf("jolokia search reply is not a list of names: %w", err)
	}
	return names, nil
}
