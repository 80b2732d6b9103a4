package agent

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
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

// renewal is one session's pending certificate request: the new key,
// which stays on this host, until the hub answers.
type renewal struct {
	mu   sync.Mutex
	key  crypto.Signer
	sent time.Time
}

func (r *renewal) take() crypto.Signer {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.key
	r.key = nil
	return k
}

// renewEvery is how often a session checks whether its certificate is due
// for renewal: a fortieth of the certificate's lifetime, between 1 s and
// 10 min (a 90-day certificate: every 10 minutes).
func (a *Agent) renewEvery() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cert.Leaf == nil {
		return 10 * time.Minute
	}
	life := a.cert.Leaf.NotAfter.Sub(a.cert.Leaf.NotBefore)
	return min(max(life/40, time.Second), 10*time.Minute)
}

// renewLoop asks for a renewed certificate over the session's link as
// soon as, and whenever, the certificate is due, until ctx ends. An
// unanswered request is repeated after a minute.
func (a *Agent) renewLoop(ctx context.Context, l *link, rn *renewal) {
	t := time.NewTicker(a.renewEvery())
	defer t.Stop()
	for {
		if a.renewDue() {
			rn.mu.Lock()
			if rn.key == nil || time.Since(rn.sent) > time.Minute {
				key, err := a.requestRenewal(l)
				if err != nil {
					a.Logger.WarnContext(ctx, "asking for a renewed certificate", slog.Any("error", err))
				} else {
					rn.key, rn.sent = key, time.Now()
					a.Logger.InfoContext(ctx, "certificate due for renewal: asked the hub for a new one")
				}
			}
			rn.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
// and uses them from the next connection on; the hub has already moved
// the current connection to the new certificate, so the old one's expiry
// no longer ends it.
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
