package notifiers

import (
	"crypto/tls"
	"fmt"
	"sort"
	"sync"
	ttemplate "text/template"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Channel is one delivery channel as the registry knows it: how it is
// configured (its parameters), where it finds a contact's address, and how
// it builds a Notifier. A channel package implements it and registers
// itself with RegisterChannel; the dispatcher, the configuration validator
// and the test-notification API find it there by name.
type Channel interface {
	// Name is the channel name, as used in <notification-engine engine=...>
	// and in the delivery log, e.g. "email".
	Name() string
	// Prefix is the prefix of the channel's parameters, e.g. "smtp.".
	Prefix() string
	// Secrets lists the parameters holding secrets: they must be given as
	// credential:NAME references, never in clear.
	Secrets() []string
	// Address is the contact's address on this channel (its email address,
	// a phone number, a nick from its parameters), "" when it has none. It
	// becomes Recipient.Address(Name()).
	Address(c *config.Contact) string
	// Reachable reports whether the site has set the channel up and the
	// recipient has an address on it (p holds site and contact parameters).
	Reachable(to Recipient, p Params) bool
	// Build validates the parameters (only those under Prefix, less any
	// AddressParams) and makes a notifier; the error names the parameter
	// that is wrong.
	Build(p Params) (Notifier, error)
}

// AddressParams is implemented by channels whose contacts give their
// address as a parameter under the channel's prefix ("irc.nick"): such a
// parameter is an address, not a setting, so it neither counts as setting
// the channel up nor reaches Build (one notifier serves every contact).
type AddressParams interface {
	AddressParams() []string
}

// ChannelEnv is what a channel may take from the process that builds it.
type ChannelEnv struct {
	// TLS configures certificate checks (nil: system roots); a site's
	// <prefix>tls-ca replaces its roots (see TLSConfig).
	TLS *tls.Config
	// Net decides which addresses the channel may connect to (nil: any):
	// the hosted execution policy.
	Net *netpolicy.Policy
}

var channelRegistry struct {
	mu  sync.Mutex
	new map[string]func(ChannelEnv) Channel
}

// RegisterChannel makes the channel name available: build makes it for a
// process's environment. A channel package calls it from its init
// function, so adding a channel is its package plus one import line (see
// notifiers/dispatch/builtin.go). It panics when name is registered twice
// or build makes a channel of another name (wiring mistakes).
func RegisterChannel(name string, build func(ChannelEnv) Channel) {
	if ch := build(ChannelEnv{}); ch == nil || ch.Name() != name {
		panic(fmt.Sprintf("notifiers: channel %q: its constructor makes a channel of another name", name))
	}
	channelRegistry.mu.Lock()
	defer channelRegistry.mu.Unlock()
	if _, dup := channelRegistry.new[name]; dup {
		panic(fmt.Sprintf("notifiers: channel %q registered twice", name))
	}
	if channelRegistry.new == nil {
		channelRegistry.new = map[string]func(ChannelEnv) Channel{}
	}
	channelRegistry.new[name] = build
}

// RegisteredChannels makes every registered channel for env, sorted by name.
func RegisteredChannels(env ChannelEnv) []Channel {
	channelRegistry.mu.Lock()
	names := make([]string, 0, len(channelRegistry.new))
	for n := range channelRegistry.new {
		names = append(names, n)
	}
	sort.Strings(names)
	builders := make([]func(ChannelEnv) Channel, len(names))
	for i, n := range names {
		builders[i] = channelRegistry.new[n]
	}
	channelRegistry.mu.Unlock()
	out := make([]Channel, 0, len(names))
	for _, b := range builders {
		out = append(out, b(env))
	}
	return out
}

var templateRegistry struct {
	mu   sync.Mutex
	text map[string]*ttemplate.Template
}

// RegisterTemplates gives channel its default message templates (text/
// template defining "<type>.subject" and "<type>.body", falling back to
// "default.subject" and "default.body"; see Templates), for channels whose
// templates are not among the embedded ones (notifiers/templates). A
// channel package calls it from its init function, beside
// RegisterChannel; a site may then override them like any channel's
// (template.<channel>.<type>.body). It panics on a template that does not
// parse or a channel given templates twice (programming mistakes).
func RegisterTemplates(channel, text string) {
	tt := ttemplate.Must(ttemplate.New(channel + ".tmpl").Funcs(templateFuncs()).Parse(text))
	templateRegistry.mu.Lock()
	defer templateRegistry.mu.Unlock()
	if _, dup := templateRegistry.text[channel]; dup {
		panic(fmt.Sprintf("notifiers: templates of channel %q registered twice", channel))
	}
	if templateRegistry.text == nil {
		templateRegistry.text = map[string]*ttemplate.Template{}
	}
	templateRegistry.text[channel] = tt
}

// registeredTemplates adds the registered channels' templates to t (the
// embedded ones win on a name clash).
func registeredTemplates(t *Templates) {
	templateRegistry.mu.Lock()
	defer templateRegistry.mu.Unlock()
	for channel, tt := range templateRegistry.text {
		if _, ok := t.text[channel]; !ok {
			t.text[channel] = ttemplate.Must(tt.Clone())
		}
	}
}
