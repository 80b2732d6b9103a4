// Package email delivers notifications by SMTP: STARTTLS or implicit TLS,
// AUTH PLAIN or LOGIN, a multipart/alternative body (plain text and HTML),
// and Message-ID / In-Reply-To / References headers derived from the alert
// id, so an alert, its acknowledgement and its recovery thread together.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Channel is the channel name.
const Channel = "email"

// Security is how the connection is protected.
type Security string

// Security modes.
const (
	// STARTTLS upgrades a plain connection (port 587); the server must offer it.
	STARTTLS Security = "starttls"
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS Security = "tls"
	// NoTLS sends in clear text (port 25, trusted networks only).
	NoTLS Security = "none"
)

// Errors.
var (
	ErrNoAddress       = errors.New("email: recipient has no email address")
	ErrInvalidAddress  = errors.New("email: invalid address")
	ErrNoStartTLS      = errors.New("email: server does not offer STARTTLS")
	ErrAuthUnsupported = errors.New("email: server offers no usable AUTH mechanism")
	ErrAuthInClear     = errors.New("email: refusing to send credentials over an unencrypted connection")
)

var (
	_ notifiers.Notifier = (*Notifier)(nil)
	_ notifiers.Tester   = (*Notifier)(nil)
)

// Config configures an SMTP relay.
type Config struct {
	// Host and Port of the SMTP server. Port defaults to 587 (starttls),
	// 465 (tls) or 25 (none).
	Host string
	Port int
	// Security is starttls (default), tls or none.
	Security Security
	// Username and Password enable AUTH. Auth picks the mechanism: "plain",
	// "login", or "" for the first the server offers (PLAIN, then LOGIN).
	Username string
	Password string
	Auth     string
	// From is the sender, e.g. "Bergamot <alerts@example.com>". Required.
	From string
	// HeloName is sent in EHLO (default "localhost").
	HeloName string
	// MessageIDDomain is the right-hand side of Message-IDs (default: From's domain).
	MessageIDDomain string
	// Timeout bounds one whole delivery (default 30s).
	Timeout time.Duration
	// TLS configures certificate checks (nil: system roots, ServerName Host).
	TLS *tls.Config
	// Dialer, when set, makes the connections (the hosted execution
	// policy's, whose Control hook refuses the operator's network on the
	// resolved address); nil dials directly.
	Dialer *net.Dialer
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	if c.Host == "" {
		return errors.New("email: smtp host is required")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("email: smtp port %d is out of range", c.Port)
	}
	switch c.Security {
	case "", STARTTLS, ImplicitTLS, NoTLS:
	default:
		return fmt.Errorf("email: security %q must be starttls, tls or none", c.Security)
	}
	switch strings.ToLower(c.Auth) {
	case "", "plain", "login":
	default:
		return fmt.Errorf("email: auth %q must be plain or login", c.Auth)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("email: password given without username")
	}
	if c.From == "" {
		return errors.New("email: from address is required")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("email: from address %q: %w", c.From, err)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("email: timeout %s must not be negative", c.Timeout)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Security == "" {
		c.Security = STARTTLS
	}
	if c.Port == 0 {
		c.Port = map[Security]int{STARTTLS: 587, ImplicitTLS: 465, NoTLS: 25}[c.Security]
	}
	if c.HeloName == "" {
		c.HeloName = "localhost"
	}
	if c.MessageIDDomain == "" {
		a, _ := mail.ParseAddress(c.From)
		if a != nil {
			c.MessageIDDomain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
		}
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	c.Auth = strings.ToLower(c.Auth)
	return c
}

func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Notifier sends email through one SMTP relay.
type Notifier struct {
	cfg       Config
	from      *mail.Address
	templates *notifiers.Templates
}

// New validates cfg and returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(cfg.From)
	return &Notifier{cfg: cfg.withDefaults(), from: from, templates: notifiers.DefaultTemplates()}, nil
}

// Name returns "email".
func (*Notifier) Name() string { return Channel }

// Send renders n and delivers it to the recipient's email address.
func (e *Notifier) Send(ctx context.Context, n *notifiers.Notification, to notifiers.Recipient) error {
	addr := to.Address(Channel)
	if addr == "" {
		return notifiers.Permanent(fmt.Errorf("%w (%s)", ErrNoAddress, to.Name))
	}
	rcpt, err := mail.ParseAddress(addr)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("%w: recipient %q: %w", ErrInvalidAddress, addr, err))
	}
	if rcpt.Name == "" {
		rcpt.Name = to.Name
	}
	msg, err := notifiers.RenderWith(e.templates, Channel, n)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("email: %w", err))
	}
	raw, err := BuildMessage(e.from, rcpt, e.cfg.MessageIDDomain, n, msg)
	if err != nil {
		return notifiers.Permanent(err)
	}
	return e.deliver(ctx, rcpt.Address, raw)
}

// Test checks the connection and credentials, then sends a test
// notification to to.
func (e *Notifier) Test(ctx context.Context, to notifiers.Recipient) error {
	return e.Send(ctx, notifiers.TestNotification(""), to)
}
