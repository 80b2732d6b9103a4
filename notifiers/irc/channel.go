package irc

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func init() {
	notifiers.RegisterChannel(Channel, func(env notifiers.ChannelEnv) notifiers.Channel {
		return ChannelDef{TLS: env.TLS, Net: env.Net}
	})
}

// nickParam is the contact parameter naming the person to highlight.
const nickParam = "irc.nick"

// ChannelDef is the IRC channel for the registry: posts to an IRC channel.
// Site parameters: irc.server (host:port), irc.tls (yes/no), irc.tls-ca
// (PEM certificates of a private CA, trusted instead of the system roots;
// needs irc.tls), irc.password, irc.bot-nick (default "bergamot"),
// irc.channel, irc.channel-key; contact parameter irc.nick (the person
// highlighted, and what makes the contact reachable on IRC).
type ChannelDef struct {
	// TLS configures certificate checks (nil: system roots).
	TLS *tls.Config
	// Net decides which addresses it may connect to (nil: any).
	Net *netpolicy.Policy
}

// Name returns "irc".
func (ChannelDef) Name() string { return Channel }

// Prefix returns "irc.".
func (ChannelDef) Prefix() string { return "irc." }

// Secrets lists irc.password.
func (ChannelDef) Secrets() []string { return []string{"irc.password"} }

// Address is the contact's irc.nick parameter.
func (ChannelDef) Address(c *config.Contact) string { return c.Parameters[nickParam] }

// AddressParams lists irc.nick: a contact's address, not a setting.
func (ChannelDef) AddressParams() []string { return []string{nickParam} }

// Reachable reports whether a server and channel are set and the contact has irc.nick.
func (ChannelDef) Reachable(to notifiers.Recipient, p notifiers.Params) bool {
	return p.Get("irc.server") != "" && p.Get("irc.channel") != "" && to.Address(Channel) != ""
}

// Build makes an IRC notifier.
func (i ChannelDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
	nick := p.Get("irc.bot-nick")
	if nick == "" {
		nick = "bergamot"
	}
	useTLS, err := p.Flag("irc.tls")
	if err != nil {
		return nil, err
	}
	cfg := Config{Server: p.Get("irc.server"), TLS: useTLS, Password: p["irc.password"],
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
		if cfg.TLSConfig, err = notifiers.TLSConfig(p, "irc.", host, i.TLS); err != nil {
			return nil, err
		}
	}
	return New(cfg)
}
