package email

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func init() {
	notifiers.RegisterChannel(Channel, func(env notifiers.ChannelEnv) notifiers.Channel {
		return &ChannelDef{TLS: env.TLS, Net: env.Net}
	})
}

// ChannelDef is the email channel for the registry: it sends through the
// site's SMTP relay. Parameters: smtp.host (required), smtp.port,
// smtp.security (starttls, tls, none), smtp.username and smtp.password (or
// smtp.credential naming a credential with both), smtp.auth (plain,
// login), smtp.from (required), smtp.helo, smtp.timeout, smtp.tls-ca (PEM
// certificates of a private CA, trusted instead of the system roots).
// Recipients need an email address (the contact's <email>).
type ChannelDef struct {
	// TLS configures certificate checks (nil: system roots).
	TLS *tls.Config
	// Net decides which addresses it may connect to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "email".
func (*ChannelDef) Name() string { return Channel }

// Prefix returns "smtp.".
func (*ChannelDef) Prefix() string { return "smtp." }

// Secrets lists smtp.password.
func (*ChannelDef) Secrets() []string { return []string{"smtp.password"} }

// Address is the contact's email address.
func (*ChannelDef) Address(c *config.Contact) string { return c.Email }

// Reachable reports whether smtp.host is set and the recipient has an email address.
func (*ChannelDef) Reachable(to notifiers.Recipient, p notifiers.Params) bool {
	return p.Get("smtp.host") != "" && to.Address(Channel) != ""
}

// Build makes an email notifier.
func (e *ChannelDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
	port, err := p.Int("smtp.port")
	if err != nil {
		return nil, err
	}
	timeout, err := p.Duration("smtp.timeout")
	if err != nil {
		return nil, err
	}
	cfg := Config{Host: p.Get("smtp.host"), Port: port, Security: Security(strings.ToLower(p.Get("smtp.security"))),
		Username: p.Get("smtp.username"), Password: p["smtp.password"], Auth: p.Get("smtp.auth"), From: p.Get("smtp.from"),
		HeloName: p.Get("smtp.helo"), Timeout: timeout}
	if err := e.Net.CheckHost(cfg.Host); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("email: parameter smtp.host: %w", err))
	}
	if e.Net != nil {
		cfg.Dialer = e.Net.Dialer(nil)
	}
	if cfg.TLS, err = notifiers.TLSConfig(p, "smtp.", cfg.Host, e.TLS); err != nil {
		return nil, err
	}
	if p.Get("smtp.tls-ca") != "" && cfg.Security == NoTLS {
		return nil, fmt.Errorf("parameter smtp.tls-ca is set but smtp.security is none")
	}
	return New(cfg)
}
