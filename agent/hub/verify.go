package hub

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
)

// Peer is a verified agent certificate.
type Peer struct {
	Identity manager.Identity
	Serial   string
	NotAfter time.Time
}

// Verifier decides whether a client certificate may speak for an agent:
// it must chain to the root through the CA of the very site it names, be
// within its validity, carry an agent or template identity, and not be
// revoked. Every refusal says why.
type Verifier struct {
	Root    *x509.Certificate
	revoked atomic.Pointer[map[string]bool]
}

// SetRevoked replaces the revocation list (serials).
func (v *Verifier) SetRevoked(serials []string) {
	m := make(map[string]bool, len(serials))
	for _, s := range serials {
		m[s] = true
	}
	v.revoked.Store(&m)
}

// Revoked reports whether serial is revoked.
func (v *Verifier) Revoked(serial string) bool {
	m := v.revoked.Load()
	return m != nil && (*m)[serial]
}

// ErrNoCertificate is the refusal of a client without a certificate.
var ErrNoCertificate = errors.New("no client certificate: an agent must present the certificate its site's CA signed (--cert, --key)")

// Verify checks the certificates a client presented (leaf first).
func (v *Verifier) Verify(chain []*x509.Certificate, now time.Time) (*Peer, error) {
	if len(chain) == 0 {
		return nil, ErrNoCertificate
	}
	leaf := chain[0]
	roots := x509.NewCertPool()
	roots.AddCert(v.Root)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	verified, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, fmt.Errorf("certificate %s expired or not yet valid (valid %s to %s)", manager.SerialString(leaf),
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("certificate %s is not signed by a site CA of this Bergamot's agent manager: %w", manager.SerialString(leaf), err)
	}
	id, err := manager.CertIdentity(leaf)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", manager.SerialString(leaf), err)
	}
	if id.Kind != manager.KindAgent && id.Kind != manager.KindTemplate {
		return nil, fmt.Errorf("certificate %s is a %s certificate, not an agent's", manager.SerialString(leaf), id.Kind)
	}
	ok := false
	for _, ch := range verified {
		if len(ch) != 3 {
			continue // leaf, site CA, root: nothing else signs agents
		}
		sid, err := manager.CertIdentity(ch[1])
		if err == nil && sid.Kind == manager.KindSite && sid.Site == id.Site {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("certificate %s names site %q but was not signed by that site's CA", manager.SerialString(leaf), id.Site)
	}
	serial := manager.SerialString(leaf)
	if v.Revoked(serial) {
		return nil, fmt.Errorf("certificate %s (site %s, %s %s) is revoked", serial, id.Site, id.Kind, id.Name)
	}
	return &Peer{Identity: id, Serial: serial, NotAfter: leaf.NotAfter}, nil
}
