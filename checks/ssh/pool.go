package ssh

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// target is where and as whom to connect.
type target struct {
	site, user, addr string
	auth             credentials
	// policy is the execution policy of the check (nil: trusted): a
	// hosted one dials through checks.PolicyDial.
	policy *checks.Policy
}

// credentials are the secrets a connection authenticates with.
type credentials struct {
	password, privateKey, passphrase string
}

// poolKey identifies a reusable connection: same site, user, address and
// secrets (hashed, so the key holds no secret).
type poolKey struct {
	site, user, addr string
	secrets          [32]byte
	// confined separates connections dialled under the hosted policy from
	// trusted ones, so a check in a shared zone never reuses a connection
	// the policy would not have allowed.
	confined bool
}

func (t target) key() poolKey {
	h := sha256.New()
	for _, s := range []string{t.auth.password, t.auth.privateKey, t.auth.passphrase} {
		_, _ = fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	var k poolKey
	k.site, k.user, k.addr, k.confined = t.site, t.user, t.addr, t.policy.Hosted()
	copy(k.secrets[:], h.Sum(nil))
	return k
}

// conn is one pooled SSH client.
type conn struct {
	pool    *pool
	key     poolKey
	client  *gossh.Client
	hostKey gossh.PublicKey
	slots   chan struct{} // one token per session allowed at a time

	// guarded by pool.mu
	users  int
	idle   *time.Timer
	broken bool
}

// pool holds SSH clients for reuse.
type pool struct {
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	knownHosts  KnownHosts
	maxSessions int
	idleTimeout time.Duration

	mu    sync.Mutex
	conns map[poolKey]*conn
}

// acquire returns a connection for t with one session slot taken; release
// it with conn.release. A new client is dialled when none is pooled.
// reused says the connection came from the pool rather than being dialled.
func (p *pool) acquire(ctx context.Context, t target, cfg func() (*gossh.ClientConfig, error)) (c *conn, reused bool, err error) {
	k := t.key()
	p.mu.Lock()
	c = p.conns[k]
	if c != nil && !c.broken {
		c.users++
		if c.idle != nil {
			c.idle.Stop()
			c.idle = nil
		}
		p.mu.Unlock()
		select {
		case c.slots <- struct{}{}:
			return c, true, nil
		case <-ctx.Done():
			c.unuse()
			return nil, false, ctx.Err()
		}
	}
	p.mu.Unlock()
	cc, err := cfg()
	if err != nil {
		return nil, false, err
	}
	var hostKey gossh.PublicKey
	check := cc.HostKeyCallback
	cc.HostKeyCallback = func(host string, addr net.Addr, key gossh.PublicKey) error {
		hostKey = key
		return check(host, addr, key)
	}
	client, err := p.connect(ctx, t, cc)
	if err != nil {
		return nil, false, err
	}
	c = &conn{pool: p, key: k, client: client, hostKey: hostKey, slots: make(chan struct{}, p.maxSessions), users: 1}
	c.slots <- struct{}{}
	p.mu.Lock()
	if old := p.conns[k]; old == nil || old.broken {
		p.conns[k] = c
	} // else another check won the race: this client stays private and closes when released
	p.mu.Unlock()
	return c, false, nil
}

// connect dials addr and completes the SSH handshake within ctx.
func (p *pool) connect(ctx context.Context, t target, cc *gossh.ClientConfig) (*gossh.Client, error) {
	nc, err := checks.PolicyDial(t.policy, p.dial)(ctx, "tcp", t.addr)
	if err != nil {
		return nil, &connectError{op: "connect", err: err}
	}
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	sc, chans, reqs, err := gossh.NewClientConn(nc, t.addr, cc)
	if !stop() {
		if err == nil {
			_ = sc.Close()
		}
		_ = nc.Close()
		return nil, &connectError{op: "handshake", err: context.Cause(ctx)}
	}
	if err != nil {
		_ = nc.Close()
		return nil, &connectError{op: "handshake", err: err}
	}
	_ = nc.SetDeadline(time.Time{})
	return gossh.NewClient(sc, chans, reqs), nil
}

// connectError is a failure to reach or log in to the server.
type connectError struct {
	op  string
	err error
}

func (e *connectError) Error() string { return e.op + ": " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// release gives the session slot back; the client is closed after the idle
// timeout when nobody uses it, or at once when it broke or was never pooled.
func (c *conn) release() {
	<-c.slots
	c.unuse()
}

func (c *conn) unuse() {
	p := c.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	c.users--
	if c.users > 0 {
		return
	}
	if c.broken || p.conns[c.key] != c || p.idleTimeout <= 0 {
		if p.conns[c.key] == c {
			delete(p.conns, c.key)
		}
		_ = c.client.Close()
		return
	}
	c.idle = time.AfterFunc(p.idleTimeout, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if c.users == 0 && p.conns[c.key] == c {
			delete(p.conns, c.key)
			c.broken = true
			_ = c.client.Close()
		}
	})
}

// breakConn closes the client (unblocking whatever waits on it) and keeps
// it out of the pool; its users see their operations fail.
func (c *conn) breakConn() {
	p := c.pool
	p.mu.Lock()
	c.broken = true
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	p.mu.Unlock()
	_ = c.client.Close()
}

// newSession opens a session, giving up (and breaking the connection) at
// ctx's end: a server that never answers the channel open would otherwise
// hold the check forever.
func (c *conn) newSession(ctx context.Context) (*gossh.Session, error) {
	stop := context.AfterFunc(ctx, c.breakConn)
	s, err := c.client.NewSession()
	if !stop() {
		if s != nil {
			_ = s.Close()
		}
		return nil, context.Cause(ctx)
	}
	if err != nil {
		c.breakConn()
		return nil, err
	}
	return s, nil
}

// close closes every pooled client.
func (p *pool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[poolKey]*conn{}
	for _, c := range conns {
		c.broken = true
		if c.idle != nil {
			c.idle.Stop()
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.client.Close()
	}
}

// size is the number of pooled clients.
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// isStale reports whether err means the pooled connection died under us
// (the server restarted, the network dropped it): worth one fresh attempt.
func isStale(err error) bool {
	var oe *gossh.OpenChannelError
	if errors.As(err, &oe) {
		return oe.Reason != gossh.Prohibited
	}
	return err != nil
}
