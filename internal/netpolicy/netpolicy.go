// Package netpolicy is Bergamot's one outbound address policy: which
// addresses a check engine or a notifier running under the hosted execution
// policy may connect to.
//
// A *Policy refuses loopback, link-local (169.254.0.0/16 with the cloud
// metadata endpoint 169.254.169.254, fe80::/10), private (10/8, 172.16/12,
// 192.168/16, fc00::/7), CGNAT (100.64.0.0/10), multicast, unspecified,
// other special-purpose ranges, and the operator's own interface addresses,
// unless one of the operator's allowed prefixes (--allow-net CIDR) contains
// the address. A nil *Policy allows every address: that is the trusted policy.
//
// Names are resolved once, by the dialer, and the check runs in the socket's
// Control hook on the very address being connected to, so a name that
// resolves to a public address for a check and to 127.0.0.1 a moment later
// (DNS rebinding) cannot slip through. HTTP clients use DialContext for every
// connection, redirects included, and CheckRedirect for a clear early error.
package netpolicy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Options configure a Policy.
type Options struct {
	// Allow lists prefixes the operator allows even though they would be
	// refused (e.g. 10.20.0.0/16 for a monitored network, 127.0.0.0/8 in tests).
	Allow []netip.Prefix
	// Own lists the operator's own addresses, refused like loopback. Nil
	// means the addresses of this machine's interfaces, read once by New.
	Own []netip.Addr
}

// Policy decides whether an outbound connection may go to an address. It
// is immutable and safe for concurrent use. A nil *Policy allows everything.
type Policy struct {
	allow []netip.Prefix
	own   map[netip.Addr]bool
}

// New returns a policy with opts.
func New(opts Options) *Policy {
	p := &Policy{own: map[netip.Addr]bool{}}
	for _, a := range opts.Allow {
		p.allow = append(p.allow, a.Masked())
	}
	own := opts.Own
	if own == nil {
		own = interfaceAddrs()
	}
	for _, a := range own {
		p.own[a.Unmap()] = true
	}
	return p
}

func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// ParsePrefixes parses CIDRs (or single addresses) such as the values of
// --allow-net; an entry may itself hold several separated by commas. An
// invalid entry is an error naming it.
func ParsePrefixes(list ...string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !strings.Contains(s, "/") {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return nil, fmt.Errorf("allowed network %q is neither a CIDR nor an address", s)
				}
				out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
				continue
			}
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("allowed network %q: %w", s, err)
			}
			out = append(out, pf.Masked())
		}
	}
	return out, nil
}

// RefusedError says that the policy refused an address, and why.
type RefusedError struct {
	// Addr is the refused address; Host the name it came from, if any.
	Addr netip.Addr
	Host string
	// Reason is the class of the address ("loopback", "private", ...).
	Reason string
}

// Error implements error.
func (e *RefusedError) Error() string {
	what := e.Addr.String()
	if e.Host != "" && e.Host != what {
		what = e.Host + " (" + what + ")"
	}
	return fmt.Sprintf("address %s is %s: the hosted execution policy refuses it (the operator can allow a range with --allow-net)", what, e.Reason)
}

// IsRefused reports whether err is, or wraps, a refusal of this package.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

var special = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("100.100.100.200/32"), "a cloud metadata endpoint"},
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.169.254/32"), "the cloud metadata endpoint"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "the cloud metadata endpoint"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
}

// Classify names the class of a refused address ("loopback", "private",
// ...), or "" for an ordinary public unicast address. It does not consult
// a policy's allowed ranges or own addresses.
func Classify(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "invalid"
	}
	if a.IsUnspecified() {
		return "unspecified"
	}
	// IPv4 embedded in IPv6 (NAT64 64:ff9b::/96) is judged by the IPv4 address.
	if a.Is6() && netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
		b := a.As16()
		if r := Classify(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
			return r
		}
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	if a.IsMulticast() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsPrivate() {
		return "not public"
	}
	return ""
}

// Check returns nil when the policy allows a connection to a, else a
// *RefusedError. A nil policy allows everything.
func (p *Policy) Check(a netip.Addr) error {
	if p == nil {
		return nil
	}
	a = a.Unmap()
	for _, pf := range p.allow {
		if pf.Contains(a) {
			return nil
		}
	}
	if r := Classify(a); r != "" {
		return &RefusedError{Addr: a, Reason: r}
	}
	if p.own[a] {
		return &RefusedError{Addr: a, Reason: "an address of the operator's own machine"}
	}
	return nil
}

// CheckHost checks a host that is known before any lookup: an IP literal
// (with or without brackets or a zone) is checked as Check does, and
// "localhost" and names under ".localhost" are refused as loopback. Other
// names return nil; they are checked after resolution, when dialled.
// Configuration validation uses it to refuse at apply time what will surely
// be refused at run time.
func (p *Policy) CheckHost(host string) error {
	if p == nil {
		return nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(host), "["), "]")
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if err := p.Check(a); err != nil {
			var r *RefusedError
			errors.As(err, &r)
			r.Host = host
			return r
		}
		return nil
	}
	if a, ok := parseLegacyIPv4(h); ok {
		if err := p.Check(a); err != nil {
			var r *RefusedError
			errors.As(err, &r)
			r.Host = host
			return r
		}
		return nil
	}
	l := strings.ToLower(strings.TrimSuffix(h, "."))
	if l == "localhost" || strings.HasSuffix(l, ".localhost") || l == "" {
		lo := netip.MustParseAddr("127.0.0.1")
		if err := p.Check(lo); err != nil {
			return &RefusedError{Addr: lo, Host: host, Reason: "loopback"}
		}
	}
	return nil
}

// parseLegacyIPv4 reads the forms inet_aton accepts and a plugin or a C
// resolver would dial ("2130706433", "0x7f.1", "127.1", "0177.0.0.1"), so
// that they cannot pass for a name at apply time.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	if s == "" || strings.Trim(s, "0123456789abcdefxABCDEFX.") != "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, part := range parts {
		var v uint64
		var err error
		switch {
		case strings.HasPrefix(part, "0x") || strings.HasPrefix(part, "0X"):
			_, err = fmt.Sscanf(part[2:], "%x", &v)
			if part[2:] == "" {
				err = errors.New("empty")
			}
		case len(part) > 1 && part[0] == '0':
			_, err = fmt.Sscanf(part[1:], "%o", &v)
		default:
			_, err = fmt.Sscanf(part, "%d", &v)
			if err == nil && fmt.Sprint(v) != strings.TrimLeft(part, "+") {
				err = errors.New("junk")
			}
		}
		if err != nil || part == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		n |= vals[i] << (24 - 8*uint(i))
	}
	if vals[last] >= 1<<(8*uint(4-last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// CheckAddress checks a "host:port" or bare IP address as passed to a
// socket's Control hook.
func (p *Policy) CheckAddress(address string) error {
	if p == nil {
		return nil
	}
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("address %q is not an IP address: the hosted execution policy checks only resolved addresses", address)
	}
	return p.Check(a)
}

// Control is a net.Dialer / net.ListenConfig Control hook that refuses a
// socket to an address the policy does not allow. It sees the resolved
// address the socket is about to connect to.
func (p *Policy) Control(_, address string, _ syscall.RawConn) error {
	return p.CheckAddress(address)
}

// Dialer returns d (a new one when nil) with the policy's Control hook
// chained before d's own. A nil policy returns d unchanged.
func (p *Policy) Dialer(d *net.Dialer) *net.Dialer {
	if d == nil {
		d = &net.Dialer{}
	}
	if p == nil {
		return d
	}
	nd := *d
	prev := d.Control
	nd.ControlContext = nil
	prevCtx := d.ControlContext
	nd.Control = func(network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		if prevCtx != nil {
			return prevCtx(context.Background(), network, address, c)
		}
		if prev != nil {
			return prev(network, address, c)
		}
		return nil
	}
	return &nd
}

// DialContext dials through a dialer with the policy's Control hook.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(nil).DialContext(ctx, network, address)
}

// Resolve looks host up once and returns the addresses the policy allows,
// in resolver order; when every address is refused it returns the first
// refusal. Callers that must open sockets themselves (ICMP, raw UDP) send to
// one of the returned addresses and never resolve again.
func (p *Policy) Resolve(ctx context.Context, r *net.Resolver, host string) ([]netip.Addr, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(h); err == nil {
		addrs = []netip.Addr{a.Unmap()}
	} else {
		ips, err := r.LookupNetIP(ctx, "ip", h)
		if err != nil {
			return nil, err
		}
		for _, a := range ips {
			addrs = append(addrs, a.Unmap())
		}
	}
	var out []netip.Addr
	var first error
	for _, a := range addrs {
		if err := p.Check(a); err != nil {
			if first == nil {
				var re *RefusedError
				if errors.As(err, &re) && h != a.String() {
					re.Host = h
				}
				first = err
			}
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		if first == nil {
			first = fmt.Errorf("no address found for %s", host)
		}
		return nil, first
	}
	return out, nil
}

// CheckURL refuses, for the parameter named param, a URL whose host
// CheckHost refuses. Unparsable URLs pass (their own validation says why).
func (p *Policy) CheckURL(param, raw string) error {
	if p == nil {
		return nil
	}
	u, perr := url.Parse(strings.TrimSpace(raw))
	if perr != nil || u.Host == "" {
		return nil //nolint:nilerr // the URL's own validation reports it
	}
	if err := p.CheckHost(u.Hostname()); err != nil {
		return fmt.Errorf("%s %s: %w", param, u.Redacted(), err)
	}
	return nil
}

// CheckRedirect is an http.Client CheckRedirect hook that refuses a
// redirect to a host CheckHost refuses, so the error names the redirect; the
// Control hook would refuse the connection anyway. It keeps Go's limit of
// 10 redirects.
func (p *Policy) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if err := p.CheckHost(req.URL.Hostname()); err != nil {
		return fmt.Errorf("redirect to %s refused: %w", req.URL.Redacted(), err)
	}
	return nil
}

// Client returns an http.Client whose connections and redirects obey the
// policy, with no proxy (a proxy would reach what the policy refuses). A
// nil policy returns a plain &http.Client{}.
func (p *Policy) Client() *http.Client {
	if p == nil {
		return &http.Client{}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = p.Dialer(&net.Dialer{}).DialContext
	return &http.Client{Transport: tr, CheckRedirect: p.CheckRedirect}
}
