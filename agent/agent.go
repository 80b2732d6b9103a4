// Package agent is Bergamot's host agent (bergamot agent): it dials a serve
// node's hub (/agent on the hub's TLS listener) with a client certificate
// that names its site and host, and runs the checks the hub sends with the
// executors of agent/probe.
//
//   - agent/wire is the protocol; agent/hub is a serve node's side;
//     agent/manager is the certificate authority (bergamot agent-manager);
//     agent/probe holds the executors.
//
// See docs/agent.md.
package agent

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/probe"
	"github.com/bergamot-monitoring/bergamot/agent/wire"
)

// Agent is one host's agent.
type Agent struct {
	// Hubs are the hub URLs (wss://HOST:8443/agent), tried in turn.
	Hubs []string
	// CertFile and KeyFile are the agent's credentials; CAFile the root
	// that signs hubs. A renewed certificate is written to CertFile.
	CertFile, KeyFile, CAFile string
	Probes                    *probe.Probes
	// Host is the host name sent in hello; AgentID and Address are sent
	// for a template certificate's registration.
	Host, AgentID, Address string
	Version                string
	Logger                 *slog.Logger
	// Concurrency bounds the checks run at once (default 16).
	Concurrency int
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (defaults 500ms and 30s), with full jitter.
	MinBackoff, MaxBackoff time.Duration
	// RenewBefore is the share of a certificate's lifetime left when the
	// agent asks for a new one (default 1/3).
	RenewBefore float64

	mu   sync.Mutex
	cert *tls.Certificate
}

// ErrRejected is returned when hubs refuse the agent's certificate.
var ErrRejected = errors.New("the hub refused this agent")

func (a *Agent) loadCert() error {
	c, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
	if err != nil {
		return fmt.Errorf("loading the agent certificate: %w", err)
	}
	if c.Leaf == nil && len(c.Certificate) > 0 {
		c.Leaf, _ = x509.ParseCertificate(c.Certificate[0])
	}
	a.mu.Lock()
	a.cert = &c
	a.mu.Unlock()
	return nil
}

func (a *Agent) tlsConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading --ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s holds no PEM certificate", a.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.cert, nil
		}}, nil
}

// Run works until ctx ends, reconnecting with backoff and jitter.
func (a *Agent) Run(ctx context.Context) error {
	if len(a.Hubs) == 0 {
		return errors.New("no hub URL given (--hub wss://HOST:8443/agent)")
	}
	if err := a.loadCert(); err != nil {
		return err
	}
	conf, err := a.tlsConfig()
	if err != nil {
		return err
	}
	if leaf := a.cert.Leaf; leaf != nil {
		id, err := manager.CertIdentity(leaf)
		if err != nil {
			return fmt.Errorf("%s: %w", a.CertFile, err)
		}
		a.Logger.InfoContext(ctx, "agent identity", slog.String("site", id.Site), slog.String(id.Kind, id.Name),
			slog.String("serial", manager.SerialString(leaf)), slog.Time("expires", leaf.NotAfter))
	}
	minB, maxB := cmp.Or(a.MinBackoff, 500*time.Millisecond), cmp.Or(a.MaxBackoff, 30*time.Second)
	backoff := minB
	slots := make(chan struct{}, cmp.Or(a.Concurrency, 16))
	var running sync.WaitGroup
	defer running.Wait()
	for i := 0; ; i++ {
		url := a.Hubs[i%len(a.Hubs)]
		start := time.Now()
		err := a.session(ctx, url, conf, slots, &running)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // a stop is not a failure
		}
		if time.Since(start) > time.Minute {
			backoff = minB
		}
		wait := minB/2 + rand.N(backoff)
		a.Logger.WarnContext(ctx, "hub link down; reconnecting", slog.String("hub", url), slog.Any("error", err), slog.Duration("in", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxB)
	}
}

type link struct {
	conn *websocket.Conn
	mu   sync.Mutex
}

func (l *link) write(m *wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return l.conn.WriteMessage(websocket.TextMessage, b)
}

func (l *link) read() (*wire.Message, error) {
	_, data, err := l.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	return wire.Decode(data)
}

func (a *Agent) session(ctx context.Context, url string, conf *tls.Config, slots chan struct{}, running *sync.WaitGroup) error {
	d := websocket.Dialer{TLSClientConfig: conf, HandshakeTimeout: 15 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("%w: %s", ErrRejected, resp.Status)
		}
		return fmt.Errorf("dialling %s: %w", url, err)
	}
	defer func() { _ = conn.Close() }()
	conn.SetReadLimit(wire.MaxMessage)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	l := &link{conn: conn}
	if err := l.write(&wire.Message{Type: wire.TypeHello, Hello: &wire.Hello{Host: a.Host, AgentID: a.AgentID, Address: a.Address,
		Version: a.Version, Protocol: wire.Version, Capabilities: a.Probes.Names()}}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	m, err := l.read()
	if err != nil {
		return err
	}
	if m.Type == wire.TypeError {
		return fmt.Errorf("%w: %s", ErrRejected, m.Error)
	}
	if m.Type != wire.TypeWelcome {
		return fmt.Errorf("hub answered %s, want welcome", m.Type)
	}
	a.Logger.InfoContext(ctx, "connected to hub", slog.String("hub", url), slog.String("site", m.Welcome.Site),
		slog.String("host", m.Welcome.Host), slog.String("node", m.Welcome.Node))
	rn := &renewal{}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.renewLoop(sctx, l, rn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		m, err := l.read()
		if err != nil {
			return err
		}
		switch m.Type {
		case wire.TypeCheck:
			a.start(ctx, l, m.Check, slots, running)
		case wire.TypePing:
			if err := l.write(&wire.Message{Type: wire.TypePong}); err != nil {
				return err
			}
		case wire.TypeRenewed:
			if err := a.saveRenewed(m.Renewed.Cert, rn.take()); err != nil {
				a.Logger.ErrorContext(ctx, "saving the renewed certificate", slog.Any("error", err))
			} else {
				a.Logger.InfoContext(ctx, "certificate renewed", slog.Time("expires", a.cert.Leaf.NotAfter))
			}
		case wire.TypeError:
			return fmt.Errorf("hub: %s", m.Error)
		}
	}
}

func (a *Agent) start(ctx context.Context, l *link, c *wire.Check, slots chan struct{}, running *sync.WaitGroup) {
	running.Add(1)
	go func() {
		defer running.Done()
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-slots }()
		cctx, cancel := context.WithTimeout(ctx, c.Timeout)
		res, metrics := a.Probes.Run(cctx, c.Executor, c.Parameters, c.CommandLine)
		cancel()
		res.Worker = a.Host
		if err := l.write(&wire.Message{Type: wire.TypeReading, Reading: &wire.Reading{ID: c.ID, Result: res, Metrics: metrics}}); err != nil {
			a.Logger.DebugContext(ctx, "sending a reading", slog.Any("error", err))
		}
	}()
}
