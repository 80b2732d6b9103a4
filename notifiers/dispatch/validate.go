package dispatch

import (
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Validate checks the channel settings of a site's configuration, for
// every channel in c: secret parameters (each channel's Secrets:
// smtp.password, sms.auth-token, webhook.secret, slack.webhook,
// irc.password) must be credential:NAME references to
// existing credentials, never clear text (which the configuration API
// would show), and every channel the site or a contact configures must
// build (a number where a port goes, an http(s) URL for webhooks, ...).
// Its signature is store.Validator's.
func (c *Channels) Validate(m *config.Model) config.ErrorList {
	creds := map[string]map[string]string{}
	for name, cr := range m.Credentials {
		creds[name] = map[string]string{"username": cr.Username, "password": cr.Password, "key-id": cr.KeyID, "key-secret": cr.KeySecret}
	}
	var out config.ErrorList
	out = append(out, c.validateParams(Params(m.Parameters), creds, "", config.Source{}, "site parameters", Params(m.Parameters))...)
	if err := applyTemplateParams(notifiers.DefaultTemplates(), Params(m.Parameters)); err != nil {
		out = append(out, &config.Error{Message: "site parameters: " + err.Error()})
	}
	for _, name := range sortedKeys(m.Contacts) {
		ct := m.Contacts[name]
		if !hasChannelParams(ct.Parameters) {
			continue
		}
		merged := Params{}
		for k, v := range m.Parameters {
			merged[k] = v
		}
		for k, v := range ct.Parameters {
			merged[k] = v
		}
		out = append(out, c.validateParams(merged, creds, fmt.Sprintf("contact %q", name), ct.Source, "", Params(ct.Parameters))...)
	}
	return out
}

func hasChannelParams(p map[string]string) bool {
	for k := range p {
		if strings.Contains(k, ".") {
			return true
		}
	}
	return false
}

// validateParams checks the channels that own sets parameters for, with
// the merged parameters p.
func (c *Channels) validateParams(p Params, creds map[string]map[string]string, object string, src config.Source, where string, own Params) config.ErrorList {
	var out config.ErrorList
	bad := func(msg string) {
		if where != "" {
			msg = where + ": " + msg
		}
		out = append(out, &config.Error{File: src.File, Line: src.Line, Object: object, Message: msg})
	}
	for _, name := range c.Names() {
		ch, _ := c.Lookup(name)
		configured := false
		for k := range own {
			if strings.HasPrefix(k, ch.Prefix()) && !isAddressParam(ch, k) {
				configured = true
			}
		}
		if !configured {
			continue
		}
		clear := false
		for _, s := range ch.Secrets() {
			if v := p.Get(s); v != "" && !strings.HasPrefix(v, CredentialPrefix) {
				bad(fmt.Sprintf("parameter %s holds a secret in clear text: put it in a <credential> and write %sNAME", s, CredentialPrefix))
				clear = true
			}
		}
		if clear {
			continue
		}
		// Site parameters may hold only a shared secret (a webhook secret,
		// say) for contacts that give their own address: nothing to build.
		if where != "" && onlySecrets(own, ch) && !ch.Reachable(c.anyRecipient(), p) {
			continue
		}
		resolved, err := ResolveSecrets(scoped(p, ch), creds)
		if err != nil {
			bad(err.Error())
			continue
		}
		nf, err := ch.Build(resolved)
		if err != nil {
			bad(err.Error())
			continue
		}
		closeNotifier(nf)
	}
	return out
}

func onlySecrets(own Params, ch Channel) bool {
	secret := map[string]bool{}
	for _, k := range ch.Secrets() {
		secret[k] = true
	}
	for k := range own {
		if strings.HasPrefix(k, ch.Prefix()) && !secret[k] {
			return false
		}
	}
	return true
}

// anyRecipient has an address on every channel, so Reachable says whether
// the parameters alone are enough to deliver.
func (c *Channels) anyRecipient() notifiers.Recipient {
	to := notifiers.Recipient{Name: "validation", Addresses: map[string]string{}}
	for _, n := range c.Names() {
		to.Addresses[n] = "validation"
	}
	return to
}
