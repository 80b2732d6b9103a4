package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Execution policies (BERGAMOT_EXEC_POLICY, --exec-policy).
const (
	// PolicyTrusted runs whatever a configuration says: one operator, or a
	// site's own private zone.
	PolicyTrusted = "trusted"
	// PolicyHosted confines checks in shared zones: allow-listed plugins as
	// an argv only, outbound connections only to public addresses. See
	// docs/exec-policy.md.
	PolicyHosted = "hosted"
)

// Policy is the execution policy one check runs under. A nil *Policy is the
// trusted policy. The worker's registry stamps the policy of the check's
// zone on each Request (Request.Policy); engines read it there, and
// configuration validation asks engines (PolicyChecker) with the same value.
type Policy struct {
	// Mode is PolicyTrusted or PolicyHosted.
	Mode string
	// Net decides which addresses outbound connections may reach; nil
	// allows all. Always set under hosted.
	Net *netpolicy.Policy
	// SharedZone reports whether a zone is an operator (shared) zone, whose
	// checks the hosted policy confines; a site's private zone runs on the
	// site's own workers and so is trusted. Nil counts every zone as shared.
	SharedZone func(zone string) bool
	// PluginDirs is the operator's plugin allow-list under hosted (nil:
	// the nagios engine's own plugin directory).
	PluginDirs []string
	// PluginRules are the operator's per-plugin argument rules, by plugin
	// file name (nil: the nagios engine's defaults).
	PluginRules map[string]PluginRule
}

// PluginRule is the operator's rule for one plugin under hosted.
type PluginRule struct {
	// Deny refuses the plugin altogether.
	Deny bool
	// Options are the options allowed ("-H", "--sni"); an argument that
	// starts with "-" must be one of them, alone or with its value attached
	// ("-H8.8.8.8", "--sni=x"). Nil with Deny false allows any option.
	Options []string
}

// ParsePolicyMode checks a --exec-policy value.
func ParsePolicyMode(s string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(s)); m {
	case PolicyTrusted, PolicyHosted:
		return m, nil
	}
	return "", fmt.Errorf("execution policy %q: want %q or %q", s, PolicyTrusted, PolicyHosted)
}

// Hosted reports whether p confines checks (false for nil).
func (p *Policy) Hosted() bool { return p != nil && p.Mode == PolicyHosted }

// ForZone is the policy a check queued in zone runs under: p itself for a
// shared zone, nil (trusted) for a private one or when p is not hosted.
func (p *Policy) ForZone(zone string) *Policy {
	if !p.Hosted() {
		return nil
	}
	if p.SharedZone != nil && !p.SharedZone(zone) {
		return nil
	}
	return p
}

// Network returns the address policy (nil, allowing all, unless hosted).
func (p *Policy) Network() *netpolicy.Policy {
	if !p.Hosted() {
		return nil
	}
	if p.Net == nil {
		return netpolicy.New(netpolicy.Options{})
	}
	return p.Net
}

// PolicyChecker is implemented by engines that can tell, from a request
// alone, whether it may run under a policy. Configuration validation calls
// it at apply time, and the registry again just before Execute. A request
// the engine cannot judge in advance (a name resolved only when dialled) is
// allowed here and refused by the engine while it runs.
type PolicyChecker interface {
	CheckPolicy(ctx context.Context, p *Policy, req *Request) error
}

// PolicyError is a refusal by the execution policy: Rule names the rule
// broken (for people, e.g. "plugins only from the allow-list").
type PolicyError struct {
	Rule   string
	Detail string
}

// Error implements error.
func (e *PolicyError) Error() string {
	if e.Detail == "" {
		return "refused by the hosted execution policy: " + e.Rule
	}
	return "refused by the hosted execution policy (" + e.Rule + "): " + e.Detail
}

// Refuse is shorthand for a *PolicyError.
func Refuse(rule, format string, args ...any) error {
	return &PolicyError{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// CheckHostParams refuses, under a hosted policy, a request whose target
// host (the "host" parameter, else the host's address) is a literal address
// or name the network policy refuses. Names are left to the dial.
func CheckHostParams(p *Policy, req *Request, params ...string) error {
	np := p.Network()
	if np == nil {
		return nil
	}
	targets := []string{}
	for _, name := range append([]string{"host"}, params...) {
		if v := strings.TrimSpace(req.Param(name, "")); v != "" {
			targets = append(targets, v)
		}
	}
	if strings.TrimSpace(req.Param("host", "")) == "" {
		if h := strings.TrimSpace(req.HostAddress); h != "" {
			targets = append(targets, h)
		} else if h := strings.TrimSpace(req.HostName); h != "" {
			targets = append(targets, h)
		}
	}
	for _, t := range targets {
		if err := np.CheckHost(t); err != nil {
			return &PolicyError{Rule: "outbound connections only to public addresses", Detail: err.Error()}
		}
	}
	return nil
}

// CheckWorkerFiles refuses, under a hosted policy, parameters that name
// files on the worker (TLS client certificates, keys, CA bundles): a shared
// worker's files are the operator's, not the site's.
func CheckWorkerFiles(p *Policy, req *Request, params ...string) error {
	if !p.Hosted() {
		return nil
	}
	for _, name := range params {
		if v := strings.TrimSpace(req.Param(name, "")); v != "" {
			return Refuse("no files of the worker", "parameter %q names the worker file %q", name, v)
		}
	}
	return nil
}

// DialFunc opens a network connection; it has the shape of
// net.Dialer.DialContext, and engines take one as their injectable dialer.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// PolicyDial returns the dial function a check running under p must use
// instead of dial (nil: a plain net.Dialer). Under trusted it is dial
// itself. Under hosted it refuses sockets that are not TCP or UDP (a Unix
// socket is a file of the worker), resolves the host once through the
// network policy (refusing loopback, private, metadata and the operator's
// own addresses unless --allow-net allows them; the error is a
// *netpolicy.RefusedError) and dials only the allowed addresses, as IP
// literals, so a name cannot resolve differently a moment later. With
// dial nil the connection also goes through the policy's Control hook.
func PolicyDial(p *Policy, dial DialFunc) DialFunc {
	np := p.Network()
	if np == nil {
		if dial == nil {
			var d net.Dialer
			return d.DialContext
		}
		return dial
	}
	if dial == nil {
		dial = np.Dialer(nil).DialContext
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		switch network {
		case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		default:
			return nil, Refuse("no files of the worker", "a %s socket (%s) is a file of the worker", network, address)
		}
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", address, err)
		}
		addrs, err := np.Resolve(ctx, nil, host)
		if err != nil {
			return nil, err
		}
		var last error
		for _, a := range addrs {
			c, err := dial(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
			if ctx.Err() != nil {
				break
			}
		}
		return nil, last
	}
}

// PolicyRefusal returns the refusal by the execution policy that err is or
// wraps (a *PolicyError or a *netpolicy.RefusedError), or nil. Engines
// report such an error as ERROR: the configuration is at fault, not the
// service.
func PolicyRefusal(err error) error {
	var pe *PolicyError
	if errors.As(err, &pe) {
		return pe
	}
	var re *netpolicy.RefusedError
	if errors.As(err, &re) {
		return re
	}
	return nil
}
