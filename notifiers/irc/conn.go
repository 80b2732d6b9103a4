package irc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// conn is one long-lived IRC connection, re-established when it drops.
type conn struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	seq    atomic.Uint64

	mu      sync.Mutex
	cur     *session      // nil while disconnected
	lastErr error         // why the last attempt failed before joining; nil once joined
	changed chan struct{} // closed when cur or lastErr changes
	postMu  sync.Mutex    // one Send's lines stay together
}

// session is one TCP connection's life.
type session struct {
	nc    net.Conn
	w     *bufio.Writer
	wmu   sync.Mutex
	ready chan struct{} // closed once registered and joined
	dead  chan struct{} // closed when the connection is gone
	pmu   sync.Mutex
	pongs map[string]chan struct{}
}

func newConn(ctx context.Context, cfg Config) *conn {
	ctx, cancel := context.WithCancel(ctx)
	c := &conn{cfg: cfg, ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	go c.run()
	return c
}

// run keeps a session up until the conn is closed.
func (c *conn) run() {
	defer close(c.done)
	delay := c.cfg.ReconnectMin
	for c.ctx.Err() == nil {
		joined, err := c.session()
		if c.ctx.Err() != nil {
			return
		}
		if joined {
			delay = c.cfg.ReconnectMin
		} else {
			c.failed(err)
		}
		c.cfg.Logger.WarnContext(c.ctx, "irc connection lost; reconnecting",
			slogAttr("server", c.cfg.Server), slogAttr("nick", c.cfg.Nick), slogAttr("error", errString(err)), slogAttr("in", delay.String()))
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, c.cfg.ReconnectMax)
	}
}

func (c *conn) setCurrent(s *session) {
	c.mu.Lock()
	c.cur = s
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// failed records why an attempt ended before the channel was joined, so
// waiting Sends can report it (and give up at once when retrying cannot
// help, e.g. an untrusted certificate).
func (c *conn) failed(err error) {
	if err == nil {
		err = fmt.Errorf("irc: %s closed the connection before %s was joined", c.cfg.Server, c.cfg.Channel)
	}
	c.mu.Lock()
	c.lastErr = err
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *conn) joined() {
	c.mu.Lock()
	c.lastErr = nil
	c.mu.Unlock()
}

// session dials, registers, joins and reads until the connection ends. It
// reports whether the channel was joined.
func (c *conn) session() (joined bool, err error) {
	nc, err := c.dial()
	if err != nil {
		return false, err
	}
	s := &session{nc: nc, w: bufio.NewWriter(nc), ready: make(chan struct{}), dead: make(chan struct{}), pongs: map[string]chan struct{}{}}
	stop := context.AfterFunc(c.ctx, func() { nc.Close() })
	defer func() {
		stop()
		nc.Close()
		c.setCurrent(nil)
		close(s.dead)
	}()
	c.setCurrent(s)
	nick := c.cfg.Nick
	if c.cfg.Password != "" {
		if err := s.send("PASS " + c.cfg.Password); err != nil {
			return false, err
		}
	}
	if err := s.send("NICK " + nick); err != nil {
		return false, err
	}
	if err := s.send("USER " + c.cfg.User + " 0 * :" + c.cfg.RealName); err != nil {
		return false, err
	}
	r := bufio.NewReaderSize(nc, 4096)
	for {
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return joined, fmt.Errorf("irc: reading from %s: %w", c.cfg.Server, err)
		}
		m := parseLine(line)
		switch m.command {
		case "PING":
			err = s.send("PONG :" + m.trailing())
		case "001":
			join := "JOIN " + c.cfg.Channel
			if c.cfg.ChannelKey != "" {
				join += " " + c.cfg.ChannelKey
			}
			err = s.send(join)
		case "433": // nick in use
			nick += "_"
			err = s.send("NICK " + nick)
		case "JOIN":
			if strings.EqualFold(m.nick(), nick) && strings.EqualFold(m.param(0), c.cfg.Channel) && !joined {
				joined = true
				c.joined()
				close(s.ready)
				c.cfg.Logger.InfoContext(c.ctx, "irc joined", slogAttr("server", c.cfg.Server), slogAttr("channel", c.cfg.Channel))
			}
		case "PONG":
			s.pong(m.trailing())
		case "403", "405", "471", "473", "474", "475", "477":
			return joined, fmt.Errorf("irc: cannot join %s: %s %s", c.cfg.Channel, m.command, m.trailing())
		case "ERROR":
			return joined, fmt.Errorf("irc: server closed the link: %s", m.trailing())
		}
		if err != nil {
			return joined, err
		}
	}
}

func (c *conn) dial() (net.Conn, error) {
	d := &net.Dialer{}
	if c.cfg.Dialer != nil {
		nd := *c.cfg.Dialer
		d = &nd
	}
	d.Timeout, d.KeepAlive = c.cfg.ConnectTimeout, time.Minute
	nc, err := d.DialContext(c.ctx, "tcp", c.cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("irc: connecting to %s: %w", c.cfg.Server, err)
	}
	if !c.cfg.TLS {
		return nc, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.cfg.TLSConfig != nil {
		tc = c.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(c.cfg.Server)
	}
	tlsConn := tls.Client(nc, tc)
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ConnectTimeout)
	defer cancel()
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		nc.Close()
		if ctx.Err() != nil && c.ctx.Err() == nil {
			err = fmt.Errorf("no TLS handshake answer within %v (is the port plain-text IRC?)", c.cfg.ConnectTimeout)
		}
		return nil, classifyDial(fmt.Errorf("irc: connecting to %s with TLS: %w", c.cfg.Server, err))
	}
	return tlsConn, nil
}

// classifyDial marks failures that reconnecting will not fix permanent: a
// certificate the configuration does not trust (unknown authority, wrong
// host name, expired) and a server that does not speak TLS on the port.
func classifyDial(err error) error {
	var certErr *tls.CertificateVerificationError
	var hdrErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr):
		return notifiers.Permanent(err)
	case errors.As(err, &hdrErr):
		return notifiers.Permanent(fmt.Errorf("%w (is the port plain-text IRC? set TLS only for a TLS port)", err))
	}
	return err
}

// ready waits for a joined session. While disconnected it gives up at once
// when the last attempt failed permanently, and otherwise, when ctx ends,
// says why the last attempt failed.
func (c *conn) ready(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		s, changed, lastErr := c.cur, c.changed, c.lastErr
		c.mu.Unlock()
		if s == nil && notifiers.IsPermanent(lastErr) {
			return nil, lastErr
		}
		notConnected := func() error {
			if lastErr != nil {
				// lastErr is context only, not wrapped: were it permanent, it
				// would make this delivery's failure permanent too.
				return fmt.Errorf("%w to %s (last attempt: %s): %w", ErrNotConnected, c.cfg.Server, lastErr.Error(), ctx.Err())
			}
			return fmt.Errorf("%w to %s: %w", ErrNotConnected, c.cfg.Server, ctx.Err())
		}
		if s != nil {
			select {
			case <-s.ready:
				return s, nil
			case <-s.dead:
				continue
			case <-changed:
				continue
			case <-ctx.Done():
				return nil, notConnected()
			case <-c.ctx.Done():
				return nil, notifiers.Permanent(ErrClosed)
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, notConnected()
		case <-c.ctx.Done():
			return nil, notifiers.Permanent(ErrClosed)
		}
	}
}

// post sends the lines to the channel, then a PING, and waits for the PONG.
func (c *conn) post(ctx context.Context, lines []string) error {
	s, err := c.ready(ctx)
	if err != nil {
		return err
	}
	c.postMu.Lock()
	defer c.postMu.Unlock()
	token := "bergamot-" + strconv.FormatUint(c.seq.Add(1), 10)
	pong := s.expectPong(token)
	for _, l := range lines {
		if err := s.send("PRIVMSG " + c.cfg.Channel + " :" + l); err != nil {
			return err
		}
	}
	if err := s.send("PING :" + token); err != nil {
		return err
	}
	select {
	case <-pong:
		return nil
	case <-s.dead:
		return fmt.Errorf("irc: connection to %s lost before the server confirmed the message", c.cfg.Server)
	case <-ctx.Done():
		return fmt.Errorf("irc: waiting for %s to confirm the message: %w", c.cfg.Server, ctx.Err())
	}
}

// close quits and stops reconnecting.
func (c *conn) close(ctx context.Context) error {
	c.mu.Lock()
	s := c.cur
	c.mu.Unlock()
	if s != nil {
		select {
		case <-s.ready:
			_ = s.send("QUIT :Bergamot notifier shutting down")
			select { // give the server a moment to close the link itself
			case <-s.dead:
			case <-time.After(2 * time.Second):
			case <-ctx.Done():
			}
		default:
		}
	}
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("irc: closing connection to %s: %w", c.cfg.Server, ctx.Err())
	}
}

func (s *session) send(line string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.w.WriteString(line + "\r\n"); err != nil {
		return fmt.Errorf("irc: writing: %w", err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("irc: writing: %w", err)
	}
	return nil
}

func (s *session) expectPong(token string) <-chan struct{} {
	ch := make(chan struct{})
	s.pmu.Lock()
	s.pongs[token] = ch
	s.pmu.Unlock()
	return ch
}

func (s *session) pong(token string) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if ch, ok := s.pongs[token]; ok {
		close(ch)
		delete(s.pongs, token)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
