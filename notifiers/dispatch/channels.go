package dispatch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Params are channel settings (notifiers.Params).
type Params = notifiers.Params

// paramsHash identifies a parameter set, for caching built notifiers.
func paramsHash(p Params) string {
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

// Channel builds the notifier of one delivery channel from parameters
// (notifiers.Channel; each channel package defines and registers its own).
type Channel = notifiers.Channel

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

// DefaultChannels holds every channel registered with
// notifiers.RegisterChannel (builtin.go lists this binary's). tlsConfig
// (may be nil: system roots) is used by the channels that speak TLS
// themselves (email, irc); a site's smtp.tls-ca / irc.tls-ca replace its
// roots.
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
	return NewChannels(notifiers.RegisteredChannels(notifiers.ChannelEnv{TLS: tlsConfig, Net: np})...)
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
	p = scoped(p, ch)
	key := name + "/" + paramsHash(p)
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

// scoped keeps only the parameters a channel's build depends on (its
// prefix, but not the contact's addressing ones: notifiers.AddressParams),
// so one notifier serves every contact with the same settings.
func scoped(p Params, ch Channel) Params {
	out := Params{}
	for k, v := range p {
		if strings.HasPrefix(k, ch.Prefix()) && !isAddressParam(ch, k) {
			out[k] = v
		}
	}
	return out
}

// isAddressParam reports whether parameter k gives a contact's address on
// ch rather than a setting of it.
func isAddressParam(ch Channel, k string) bool {
	ap, ok := ch.(notifiers.AddressParams)
	return ok && slices.Contains(ap.AddressParams(), k)
}

// recipient builds the notifiers.Recipient of a contact: its name, time
// zone, and its address on every channel (each channel's Address).
func (c *Channels) recipient(ct *config.Contact) notifiers.Recipient {
	name := ct.FullName
	if name == "" {
		name = strings.TrimSpace(ct.FirstName + " " + ct.FamilyName)
	}
	if name == "" {
		name = ct.Summary
	}
	if name == "" {
		name = ct.Name
	}
	to := notifiers.Recipient{ID: ct.Name, Name: name, TimeZone: ct.Parameters["time-zone"]}
	for _, n := range c.Names() {
		ch, _ := c.Lookup(n)
		if addr := ch.Address(ct); addr != "" {
			if to.Addresses == nil {
				to.Addresses = map[string]string{}
			}
			to.Addresses[n] = addr
		}
	}
	return to
}
