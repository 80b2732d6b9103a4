package slack

import (
	"fmt"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func init() {
	notifiers.RegisterChannel(Channel, func(env notifiers.ChannelEnv) notifiers.Channel { return ChannelDef{Net: env.Net} })
}

// ChannelDef is the Slack channel for the registry: posts to an incoming
// webhook. Parameter: slack.webhook (the webhook URL is a secret: give it
// as a credential reference), slack.timeout.
type ChannelDef struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "slack".
func (ChannelDef) Name() string { return Channel }

// Prefix returns "slack.".
func (ChannelDef) Prefix() string { return "slack." }

// Secrets lists slack.webhook.
func (ChannelDef) Secrets() []string { return []string{"slack.webhook"} }

// Address is "": messages go to the webhook's channel, not to a person.
func (ChannelDef) Address(*config.Contact) string { return "" }

// Reachable reports whether slack.webhook is set.
func (ChannelDef) Reachable(_ notifiers.Recipient, p notifiers.Params) bool {
	return p.Get("slack.webhook") != ""
}

// Build makes a Slack notifier.
func (ch ChannelDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
	timeout, err := p.Duration("slack.timeout")
	if err != nil {
		return nil, err
	}
	if err := ch.Net.CheckURL("slack.webhook", p.Get("slack.webhook")); err != nil {
		return nil, notifiers.Permanent(fmt.Errorf("slack: %w", err))
	}
	return New(Config{WebhookURL: p.Get("slack.webhook"), Timeout: timeout}, ch.Net.Client())
}
