package webhook

import (
	"fmt"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func init() {
	notifiers.RegisterChannel(Channel, func(env notifiers.ChannelEnv) notifiers.Channel { return ChannelDef{Net: env.Net} })
}

// ChannelDef is the webhook channel for the registry: signed JSON posts.
// Parameters: webhook.url (usually a contact parameter), webhook.secret (a
// credential reference), webhook.timeout.
type ChannelDef struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "webhook".
func (ChannelDef) Name() string { return Channel }

// Prefix returns "webhook.".
func (ChannelDef) Prefix() string { return "webhook." }

// Secrets lists webhook.secret.
func (ChannelDef) Secrets() []string { return []string{"webhook.secret"} }

// Address is "": a webhook's address is its URL, a parameter.
func (ChannelDef) Address(*config.Contact) string { return "" }

// Reachable reports whether webhook.url is set (for the contact or the site).
func (ChannelDef) Reachable(_ notifiers.Recipient, p notifiers.Params) bool {
	return p.Get("webhook.url") != ""
}

// Build makes a webhook notifier.
func (ch ChannelDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
	timeout, err := p.Duration("webhook.timeout")
	if err != nil {
		return nil, err
	}
	if err := ch.Net.CheckURL("webhook.url", p.Get("webhook.url")); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("webhook: %w", err))
	}
	return New(Config{URL: p.Get("webhook.url"), Secret: p["webhook.secret"], Timeout: timeout}, ch.Net.Client())
}
