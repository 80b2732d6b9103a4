// Package webhook delivers notifications as a signed JSON POST.
//
// The body is a Payload (version 1). Each request carries
// X-Bergamot-Timestamp (unix seconds) and X-Bergamot-Signature
// ("sha256=" + hex HMAC-SHA256 with the shared secret over the timestamp,
// a dot and the body), so a receiver can check the sender and refuse replays
// (see VerifySignature). 2xx is success; 4xx (but 408/429) is permanent;
// 5xx, timeouts and connection errors are transient.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Channel is the channel name.
const Channel = "webhook"

// Headers set on every request.
const (
	HeaderSignature   = "X-Bergamot-Signature"
	HeaderTimestamp   = "X-Bergamot-Timestamp"
	HeaderEvent       = "X-Bergamot-Event"
	HeaderIdempotency = "Idempotency-Key"
)

// Errors.
var (
	ErrBadSignature   = errors.New("webhook: bad signature")
	ErrStaleTimestamp = errors.New("webhook: timestamp outside tolerance")
)

var _ notifiers.Notifier = (*Notifier)(nil)

// Config configures one webhook endpoint.
type Config struct {
	// URL receives the POST (http or https). Required.
	URL string
	// Secret signs each request; empty sends no signature header.
	Secret string
	// Headers are extra request headers (e.g. Authorization).
	Headers map[string]string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	if err := notifiers.ValidateHTTPURL(Channel, "url", c.URL); err != nil {
		return err
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n\t") {
			return fmt.Errorf("webhook: header name %q is not valid", k)
		}
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case HeaderSignature, HeaderTimestamp, "Content-Type", "Content-Length":
			return fmt.Errorf("webhook: header %q is set by Bergamot and cannot be overridden", k)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("webhook: timeout %s must not be negative", c.Timeout)
	}
	return nil
}

// Notifier posts notifications to one URL.
type Notifier struct {
	cfg       Config
	client    *http.Client
	templates *notifiers.Templates
	now       func() time.Time
}

// New validates cfg and returns a Notifier. client may be nil.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Notifier{cfg: cfg, client: client, templates: notifiers.DefaultTemplates(), now: time.Now}, nil
}

// Name returns "webhook".
func (*Notifier) Name() string { return Channel }

// Send posts the Payload for n and to.
func (w *Notifier) Send(ctx context.Context, n *notifiers.Notification, to notifiers.Recipient) error {
	msg, err := notifiers.RenderWith(w.templates, Channel, n)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("webhook: %w", err))
	}
	body, err := json.Marshal(NewPayload(n, to, msg))
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("webhook: encoding payload: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("webhook: %w", err))
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Bergamot-Webhook/1")
	req.Header.Set(HeaderEvent, string(n.Type))
	if n.IdempotencyKey != "" {
		req.Header.Set(HeaderIdempotency, n.IdempotencyKey)
	}
	if w.cfg.Secret != "" {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	}
	_, err = notifiers.DoHTTP(w.client, Channel, req)
	return err
}

// Sign returns the X-Bergamot-Signature value for a timestamp and body.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature is what a receiver does: it checks signature against the
// timestamp and body, and that the timestamp is within tolerance of now.
func VerifySignature(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, timestamp, body))) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s off", ErrStaleTimestamp, d.Round(time.Second))
	}
	return nil
}
