package agent

import (
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/wire"
)

// renewDue reports whether the certificate has less than RenewBefore of
// its lifetime left.
func (a *Agent) renewDue() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	leaf := a.cert.Leaf
	if leaf == nil {
		return false
	}
	share := a.RenewBefore
	if share <= 0 {
		share = 1.0 / 3
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return time.Until(leaf.NotAfter) < time.Duration(float64(life)*share)
}

// requestRenewal sends a certificate request for a new key, which stays
// on this host; the hub has the manager sign it.
func (a *Agent) requestRenewal(l *link) (crypto.Signer, error) {
	key, err := manager.NewKey("")
	if err != nil {
		return nil, err
	}
	csr, err := manager.NewCSR(key, a.Host)
	if err != nil {
		return nil, err
	}
	return key, l.write(&wire.Message{Type: wire.TypeRenew, Renew: &wire.Renew{CSR: csr}})
}

// saveRenewed writes the new key and certificate in place of the old ones
// and uses them from the next connection on.
func (a *Agent) saveRenewed(certPEM string, key crypto.Signer) error {
	if key == nil {
		return errors.New("a renewed certificate arrived that this agent did not ask for")
	}
	kp, err := manager.KeyPEM(key)
	if err != nil {
		return err
	}
	c, err := tls.X509KeyPair([]byte(certPEM), kp)
	if err != nil {
		return fmt.Errorf("the renewed certificate does not match the new key: %w", err)
	}
	if err := os.WriteFile(a.KeyFile+".new", kp, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(a.CertFile+".new", []byte(certPEM), 0o644); err != nil {
		return err
	}
	if err := os.Rename(a.KeyFile+".new", a.KeyFile); err != nil {
		return err
	}
	if err := os.Rename(a.CertFile+".new", a.CertFile); err != nil {
		return err
	}
	a.mu.Lock()
	a.cert = &c
	a.mu.Unlock()
	return nil
}
