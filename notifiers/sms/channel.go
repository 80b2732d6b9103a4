package sms

import (
	"fmt"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func init() {
	notifiers.RegisterChannel(Channel, func(env notifiers.ChannelEnv) notifiers.Channel { return ChannelDef{Net: env.Net} })
}

// ChannelDef is the SMS channel for the registry: text messages through
// Twilio. Parameters: sms.account-sid and sms.auth-token (or
// sms.credential: username = SID, password = token), sms.from,
// sms.base-url, sms.timeout. Recipients need a mobile or pager number in
// E.164 form.
type ChannelDef struct {
	// Net decides which addresses it may post to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "sms".
func (ChannelDef) Name() string { return Channel }

// Prefix returns "sms.".
func (ChannelDef) Prefix() string { return "sms." }

// Secrets lists sms.auth-token.
func (ChannelDef) Secrets() []string { return []string{"sms.auth-token"} }

// Address is the contact's mobile number, else its pager.
func (ChannelDef) Address(c *config.Contact) string {
	if c.Mobile != "" {
		return c.Mobile
	}
	return c.Pager
}

// Reachable reports whether an account is set and the recipient has a phone number.
func (ChannelDef) Reachable(to notifiers.Recipient, p notifiers.Params) bool {
	return (p.Get("sms.account-sid") != "" || p.Get("sms.credential") != "") && to.Address(Channel) != ""
}

// Build makes an SMS notifier.
func (ch ChannelDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
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
	return New(Config{AccountSID: sid, AuthToken: token, From: p.Get("sms.from"),
		BaseURL: p.Get("sms.base-url"), Timeout: timeout}, ch.Net.Client())
}
