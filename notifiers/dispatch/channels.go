package dispatch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/notifiers/irc"
	"github.com/bergamot-monitoring/bergamot/notifiers/slack"
	"github.com/bergamot-monitoring/bergamot/notifiers/sms"
	"github.com/bergamot-monitoring/bergamot/notifiers/webhook"
)

// Params are channel settings: the site's parameters overlaid with one
// contact's, e.g. "smtp.host" -> "mail.example.com". Secrets appear here
// only after credential references were resolved (see ResolveSecrets).
type Params map[string]string

// Get returns the trimmed value of name.
func (p Params) Get(name string) string { return strings.TrimSpace(p[name]) }

// Int parses an optional integer parameter.
func (p Params) Int(name string) (int, error) {
	v := p.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %q is not a number", name, v)
	}
	return n, nil
}

// Duration parses an optional duration parameter ("10s"; a bare number is seconds).
func (p Params) Duration(name string) (time.Duration, error) {
	v := p.Get(name)
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %q is not a duration", name, v)
	}
	return d, nil
}

// Bool parses an optional yes/no parameter.
func (p Params) Bool(name string) bool {
	switch strings.ToLower(p.Get(name)) {
	case "yes", "true", "1", "on":
		return true
	}
	return false
}

// hash identifies a parameter set, for caching built notifiers.
func (p Params) hash() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		_, _ = fmt.Fprintf(h, "%d:%s=%d:%s;", len(k), k, len(p[k]), p[k]) // a hash.Hash's Write never fails
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Channel builds the notifier of one delivery channel from parameters.
type Channel interface {
	// Name is the channel name, as used in <notification-engine engine=...>.
	Name() string
	// Reachable reports whether the site has set the channel up and the
	// recipient has an address on it (p holds site and contact parameters).
	Reachable(to notifiers.Recipient, p Params) bool
	// Build validates the parameters and makes a notifier; the error names
	// the parameter that is wrong.
	Build(p Params) (notifiers.Notifier, error)
	// Secrets lists the parameters holding secrets: they must be given as
	// credential:NAME references, never in clear.
	Secrets() []string
	// Prefix is the prefix of the channel's parameters, e.g. "smtp.".
	Prefix() string
}

// Channels is a registry of channels with a cache of built notifiers
// (so IRC connections are shared). Safe for concurrent use.
type Channels struct {
	mu    sync.Mutex
	byN   map[string]Channel
	order []string
	built map[string]notifiers.Notifier
}

// NewChannels returns a registry holding chs.
func NewChannels(chs ...Channel) *Channels {
	c := &Channels{byN: map[string]Channel{}, built: map[string]notifiers.Notifier{}}
	for _, ch := range chs {
		c.Register(ch)
	}
	return c
}

// DefaultChannels registers email, sms, webhook, slack and irc. tlsConfig
// (may be nil: system roots) is used by email and irc; a site's
// smtp.tls-ca / irc.tls-ca replace its roots.
func DefaultChannels(tlsConfig *tls.Config) *Channels {
	return PolicyChannels(tlsConfig, nil)
}

// PolicyChannels is DefaultChannels whose channels connect only where np
// allows (the hosted execution policy; nil allows all): the HTTP channels
// (sms, webhook, slack), and email and irc, whose SMTP relay (smtp.host)
// and IRC server (irc.server) are the site's parameters too. A URL, host or
// server naming a refused address is refused when the configuration is
// validated and again, on the resolved address, when a notification is
// sent.
func PolicyChannels(tlsConfig *tls.Config, np *netpolicy.Policy) *Channels {
	return NewChannels(&EmailChannel{TLS: tlsConfig, Net: np}, SMSChannel{Net: np}, WebhookChannel{Net: np}, SlackChannel{Net: np},
		IRCChannel{TLS: tlsConfig, Net: np})
}

// Register adds ch; it panics on a duplicate name (a wiring mistake).
func (c *Channels) Register(ch Channel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.byN[ch.Name()]; dup {
		panic(fmt.Sprintf("dispatch: channel %q registered twice", ch.Name()))
	}
	c.byN[ch.Name()] = ch
	c.order = append(c.order, ch.Name())
	sort.Strings(c.order)
}

// Names lists the channel names, sorted.
func (c *Channels) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// Lookup returns a channel by name.
func (c *Channels) Lookup(name string) (Channel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.byN[name]
	return ch, ok
}

// Notifier returns the (cached) notifier of channel name for p.
func (c *Channels) Notifier(name string, p Params) (notifiers.Notifier, error) {
	ch, ok := c.Lookup(name)
	if !ok {
		return nil, notifiers.Permanent(fmt.Errorf("%w: %q", notifiers.ErrUnknownChannel, name))
	}
	p = scoped(p, ch.Prefix())
	key := name + "/" + p.hash()
	c.mu.Lock()
	nf, ok := c.built[key]
	c.mu.Unlock()
	if ok {
		return nf, nil
	}
	nf, err := ch.Build(p)
	if err != nil {
		return nil, notifiers.Permanent(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.built[key]; ok {
		closeNotifier(nf)
		return old, nil
	}
	c.built[key] = nf
	return nf, nil
}

// Close releases every cached notifier holding connections.
func (c *Channels) Close(ctx context.Context) {
	c.mu.Lock()
	built := c.built
	c.built = map[string]notifiers.Notifier{}
	c.mu.Unlock()
	for _, nf := range built {
		if cl, ok := nf.(notifiers.Closer); ok {
			_ = cl.Close(ctx)
		}
	}
}

func closeNotifier(nf notifiers.Notifier) {
	if cl, ok := nf.(notifiers.Closer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.Close(ctx)
	}
}

// EmailChannel sends email through the site's SMTP relay. Parameters:
// smtp.host (required), smtp.port, smtp.security (starttls, tls, none),
// smtp.username and smtp.password (or smtp.credential naming a credential
// with both), smtp.auth (plain, login), smtp.from (required), smtp.helo,
// smtp.timeout, smtp.tls-ca (PEM certificates of a private CA, trusted
// instead of the system roots). Recipients need an email address.
type EmailChannel struct {
	// TLS configures certificate checks (nil: system roots).
	TLS *tls.Config
	// Net decides which addresses it may connect to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "email".
func (*EmailChannel) Name() string { return email.Channel }

// Reachable reports whether smtp.host is set and the recipient has an email address.
func (*EmailChannel) Reachable(to notifiers.Recipient, p Params) bool {
	return p.Get("smtp.host") != "" && to.Email != ""
}

// Secrets lists smtp.password.
func (*EmailChannel) Secrets() []string { return []string{"smtp.password"} }

// Build makes an email notifier.
func (e *EmailChannel) Build(p Params) (notifiers.Notifier, error) {
	port, err := p.Int("smtp.port")
	if err != nil {
		return nil, err
	}
	timeout, err := p.Duration("smtp.timeout")
	if err != nil {
		return nil, err
	}
	cfg := email.Config{Host: p.Get("smtp.host"), Port: port, Security: email.Security(strings.ToLower(p.Get("smtp.security"))),
		Username: p.Get("smtp.username"), Password: p["smtp.password"], Auth: p.Get("smtp.auth"), From: p.Get("smtp.from"),
		HeloName: p.Get("smtp.helo"), Timeout: timeout}
	if err := e.Net.CheckHost(cfg.Host); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("email: parameter smtp.host: %w", err))
	}
	if e.Net != nil {
		cfg.Dialer = e.Net.Dialer(nil)
	}
	if cfg.TLS, err = tlsConfig(p, "smtp.", cfg.Host, e.TLS); err != nil {
		return nil, err
	}
	if p.Get("smtp.tls-ca") != "" && cfg.Security == email.NoTLS {
		return nil, fmt.Errorf("parameter smtp.tls-ca is set but smtp.security is none")
	}
	return email.New(cfg)
}

// SMSChannel sends text messages through Twilio. Parameters: sms.account-sid
// and sms.auth-token (or sms.credential: username = SID, password = token),
// sms.from, sms.base-url, sms.timeout. Recipients need a mobile or pager
// number in E.164 form.
type SMSChannel struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "sms".
func (SMSChannel) Name() string { return sms.Channel }

// Reachable reports whether an account is set and the recipient has a phone number.
func (SMSChannel) Reachable(to notifiers.Recipient, p Params) bool {
	return (p.Get("sms.account-sid") != "" || p.Get("sms.credential") != "") && to.Phone != ""
}

// Secrets lists sms.auth-token.
func (SMSChannel) Secrets() []string { return []string{"sms.auth-token"} }

// Build makes an SMS notifier.
func (ch SMSChannel) Build(p Params) (notifiers.Notifier, error) {
	timeout, err := p.Duration("sms.timeout")
	if err != nil {
		return nil, err
	}
	sid, token := p.Get("sms.account-sid"), p["sms.auth-token"]
	if sid == "" {
		sid = p.Get("sms.username")
	}
	if token == "" {
		token = p["sms.password"]
	}
	if err := ch.Net.CheckURL("sms.base-url", p.Get("sms.base-url")); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("sms: %w", err))
	}
	return sms.New(sms.Config{AccountSID: sid, AuthToken: token, From: p.Get("sms.from"),
		BaseURL: p.Get("sms.base-url"), Timeout: timeout}, ch.Net.Client())
}

// WebhookChannel posts signed JSON. Parameters: webhook.url (usually a
// contact parameter), webhook.secret (a credential reference), webhook.timeout.
type WebhookChannel struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "webhook".
func (WebhookChannel) Name() string { return webhook.Channel }

// Reachable reports whether webhook.url is set (for the contact or the site).
func (WebhookChannel) Reachable(_ notifiers.Recipient, p Params) bool {
	return p.Get("webhook.url") != ""
}

// Secrets lists webhook.secret.
func (WebhookChannel) Secrets() []string { return []string{"webhook.secret"} }

// Build makes a webhook notifier.
func (ch WebhookChannel) Build(p Params) (notifiers.Notifier, error) {
	timeout, err := p.Duration("webhook.timeout")
	if err != nil {
		return nil, err
	}
	if err := ch.Net.CheckURL("webhook.url", p.Get("webhook.url")); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("webhook: %w", err))
	}
	return webhook.New(webhook.Config{URL: p.Get("webhook.url"), Secret: p["webhook.secret"], Timeout: timeout}, ch.Net.Client())
}

// SlackChannel posts to a Slack incoming webhook. Parameter: slack.webhook
// (the webhook URL is a secret: give it as a credential reference).
type SlackChannel struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "slack".
func (SlackChannel) Name() string { return slack.Channel }

// Reachable reports whether slack.webhook is set.
func (SlackChannel) Reachable(_ notifiers.Recipient, p Params) bool {
	return p.Get("slack.webhook") != ""
}

// Secrets lists slack.webhook.
func (SlackChannel) Secrets() []string { return []string{"slack.webhook"} }

// Build makes a Slack notifier.
func (ch SlackChannel) Build(p Params) (notifiers.Notifier, error) {
	timeout, err := p.Duration("slack.timeout")
	if err != nil {
		return nil, err
	}
	if err := ch.Net.CheckURL("slack.webhook", p.Get("slack.webhook")); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("slack: %w", err))
	}
	return slack.New(slack.Config{WebhookURL: p.Get("slack.webhook"), Timeout: timeout}, ch.Net.Client())
}

// IRCChannel posts to an IRC channel. Site parameters: irc.server
// (host:port), irc.tls (yes/no), irc.tls-ca (PEM certificates of a private
// CA, trusted instead of the system roots; needs irc.tls), irc.password,
// irc.bot-nick (default "bergamot"), irc.channel, irc.channel-key; contact
// parameter irc.nick (the person highlighted, and what makes the contact
// reachable on IRC).
type IRCChannel struct {
	// TLS configures certificate checks (nil: system roots).
	TLS *tls.Config
	// Net decides which addresses it may connect to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "irc".
func (IRCChannel) Name() string { return irc.Channel }

// Reachable reports whether a server and channel are set and the contact has irc.nick.
func (IRCChannel) Reachable(to notifiers.Recipient, p Params) bool {
	return p.Get("irc.server") != "" && p.Get("irc.channel") != "" && to.IRCNick != ""
}

// Secrets lists irc.password.
func (IRCChannel) Secrets() []string { return []string{"irc.password"} }

// Build makes an IRC notifier.
func (i IRCChannel) Build(p Params) (notifiers.Notifier, error) {
	nick := p.Get("irc.bot-nick")
	if nick == "" {
		nick = "bergamot"
	}
	useTLS, err := p.Flag("irc.tls")
	if err != nil {
		return nil, err
	}
	cfg := irc.Config{Server: p.Get("irc.server"), TLS: useTLS, Password: p["irc.password"],
		Nick: nick, Channel: p.Get("irc.channel"), ChannelKey: p["irc.channel-key"]}
	if host, _, err := net.SplitHostPort(cfg.Server); err == nil {
		if err := i.Net.CheckHost(host); err != nil {
			return nil, notifiers.Permanent(fmt.Errorf("irc: parameter irc.server: %w", err))
		}
	}
	if i.Net != nil {
		cfg.Dialer = i.Net.Dialer(nil)
	}
	if p.Get("irc.tls-ca") != "" && !useTLS {
		return nil, fmt.Errorf("parameter irc.tls-ca is set but irc.tls is not yes")
	}
	if useTLS {
		host, _, _ := net.SplitHostPort(cfg.Server)
		if cfg.TLSConfig, err = tlsConfig(p, "irc.", host, i.TLS); err != nil {
			return nil, err
		}
	}
	return irc.New(cfg)
}

// scoped keeps only the parameters a channel's build depends on (its
// prefix, but not the contact's addressing ones), so one notifier serves
// every contact with the same settings.
func scoped(p Params, prefix string) Params {
	out := Params{}
	for k, v := range p {
		if strings.HasPrefix(k, prefix) && k != "irc.nick" {
			out[k] = v
		}
	}
	return out
}

// Prefix returns "smtp.".
func (*EmailChannel) Prefix() string { return "smtp." }

// Prefix returns "sms.".
func (SMSChannel) Prefix() string { return "sms." }

// Prefix returns "webhook.".
func (WebhookChannel) Prefix() string { return "webhook." }

// Prefix returns "slack.".
func (SlackChannel) Prefix() string { return "slack." }

// Prefix returns "irc.".
func (IRCChannel) Prefix() string { return "irc." }
