package manager

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kinds of certificate subject a Bergamot URI names.
const (
	// KindAgent is one host's agent: site and host.
	KindAgent = "agent"
	// KindTemplate is a site's template certificate: an agent holding it
	// may register a host it names from the template.
	KindTemplate = "template"
	// KindSite is a site's CA.
	KindSite = "site"
)

// Identity is who a certificate speaks for, carried in its URI SAN
// bergamot://KIND/SITE[/NAME] (path segments escaped).
type Identity struct {
	Kind string
	// Site is the site's id (or name, as the operator gave it).
	Site string
	// Name is the host (agent id) for KindAgent, the host template for
	// KindTemplate, empty for KindSite.
	Name string
}

// URI returns the identity as the SAN URI.
func (id Identity) URI() *url.URL {
	raw, esc := "/"+id.Site, "/"+url.PathEscape(id.Site)
	if id.Kind != KindSite {
		raw, esc = raw+"/"+id.Name, esc+"/"+url.PathEscape(id.Name)
	}
	return &url.URL{Scheme: "bergamot", Host: id.Kind, Path: raw, RawPath: esc}
}

// String is the URI's text.
func (id Identity) String() string { return id.URI().String() }

// ErrNoIdentity is returned for a certificate without a Bergamot URI.
var ErrNoIdentity = errors.New("the certificate carries no bergamot:// identity")

// ParseIdentity reads the identity of a URI SAN.
func ParseIdentity(u *url.URL) (Identity, error) {
	if u.Scheme != "bergamot" {
		return Identity{}, ErrNoIdentity
	}
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	id := Identity{Kind: u.Host}
	want := 2
	if id.Kind == KindSite {
		want = 1
	}
	switch id.Kind {
	case KindAgent, KindTemplate, KindSite:
	default:
		return Identity{}, fmt.Errorf("identity %s: unknown kind %q", u, u.Host)
	}
	if len(segs) != want {
		return Identity{}, fmt.Errorf("identity %s: want %d path segment(s), got %d", u, want, len(segs))
	}
	var err error
	if id.Site, err = url.PathUnescape(segs[0]); err != nil || id.Site == "" {
		return Identity{}, fmt.Errorf("identity %s: bad site", u)
	}
	if want == 2 {
		if id.Name, err = url.PathUnescape(segs[1]); err != nil || id.Name == "" {
			return Identity{}, fmt.Errorf("identity %s: bad name", u)
		}
	}
	return id, nil
}

// CertIdentity is the one Bergamot identity of a certificate.
func CertIdentity(c *x509.Certificate) (Identity, error) {
	var found []Identity
	for _, u := range c.URIs {
		id, err := ParseIdentity(u)
		if errors.Is(err, ErrNoIdentity) {
			continue
		}
		if err != nil {
			return Identity{}, err
		}
		found = append(found, id)
	}
	switch len(found) {
	case 0:
		return Identity{}, ErrNoIdentity
	case 1:
		return found[0], nil
	}
	return Identity{}, fmt.Errorf("the certificate carries %d bergamot:// identities, want one", len(found))
}

// ValidName checks a site, host or template name: 1 to 200 bytes, printable, no slash.
func ValidName(what, s string) error {
	if s == "" || len(s) > 200 {
		return fmt.Errorf("%s must be 1 to 200 bytes", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' {
			return fmt.Errorf("%s %q: control characters and '/' are not allowed", what, s)
		}
	}
	return nil
}
