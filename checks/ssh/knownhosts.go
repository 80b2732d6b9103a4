package ssh

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// KnownHosts records the SSH host keys a site trusts. The production
// implementation is store.HostKeys (table ssh_host_keys, one row per site
// and host); MemoryKnownHosts serves workers without a database and tests.
type KnownHosts interface {
	// TrustHostKey returns the key recorded for host ("host:port") in site,
	// first recording key (the server's public key in SSH wire format) when
	// none is, and when it was first seen.
	TrustHostKey(ctx context.Context, site, host string, key []byte) (recorded []byte, firstSeen time.Time, err error)
}

// MemoryKnownHosts is a KnownHosts kept in memory: trust lasts as long as
// the process. The zero value is ready to use.
type MemoryKnownHosts struct {
	mu   sync.Mutex
	keys map[[2]string]memoryKey
}

type memoryKey struct {
	key  []byte
	seen time.Time
}

// TrustHostKey implements KnownHosts.
func (m *MemoryKnownHosts) TrustHostKey(_ context.Context, site, host string, key []byte) ([]byte, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[[2]string]memoryKey{}
	}
	k := [2]string{site, host}
	if rec, ok := m.keys[k]; ok {
		return rec.key, rec.seen, nil
	}
	rec := memoryKey{key: bytes.Clone(key), seen: time.Now()}
	m.keys[k] = rec
	return rec.key, rec.seen, nil
}

// Forget drops the key recorded for host in site, so the next connection
// trusts whatever key the server presents.
func (m *MemoryKnownHosts) Forget(site, host string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, [2]string{site, host})
}

// HostKeyChangedError is a server presenting a host key other than the one
// the site trusted on first use: possibly a man in the middle, possibly a
// reinstalled server.
type HostKeyChangedError struct {
	Host                string
	Recorded, Presented string // SHA256 fingerprints
	FirstSeen           time.Time
}

func (e *HostKeyChangedError) Error() string {
	return fmt.Sprintf("SSH host key of %s has changed: it presented %s, but %s was trusted on first use (%s); "+
		"someone may be intercepting the connection, or the server was reinstalled. If the change is expected, "+
		"forget the recorded key (bergamot ssh forget-host-key --site SITE %s)",
		e.Host, e.Presented, e.Recorded, e.FirstSeen.UTC().Format(time.RFC3339), e.Host)
}

// hostKeyCallback checks the server's key against the site's record.
func hostKeyCallback(ctx context.Context, kh KnownHosts, site, host string) gossh.HostKeyCallback {
	return func(_ string, _ net.Addr, key gossh.PublicKey) error {
		wire := key.Marshal()
		rec, seen, err := kh.TrustHostKey(ctx, site, host, wire)
		if err != nil {
			return fmt.Errorf("checking the host key of %s: %w", host, err)
		}
		if bytes.Equal(rec, wire) {
			return nil
		}
		recorded := "an unreadable key"
		if pk, err := gossh.ParsePublicKey(rec); err == nil {
			recorded = pk.Type() + " " + gossh.FingerprintSHA256(pk)
		}
		return &HostKeyChangedError{Host: host, Recorded: recorded, Presented: key.Type() + " " + gossh.FingerprintSHA256(key), FirstSeen: seen}
	}
}
