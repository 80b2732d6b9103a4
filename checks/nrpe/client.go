package nrpe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Transport selects how the client talks to the daemon.
type Transport string

// The transports. TransportAuto tries TLS (crypto/tls), then anonymous-DH
// TLS (OpenSSL), then plain TCP, and remembers per host:port what worked.
const (
	TransportAuto  Transport = "auto"
	TransportPlain Transport = "plain"
	TransportTLS   Transport = "tls"
	TransportADH   Transport = "adh"
	// TransportEncrypted is auto without the plain fallback (ssl=true).
	TransportEncrypted Transport = "encrypted"
)

// ParseTransport parses a transport name; "ssl" style booleans are accepted
// too: false/no/off/0 mean plain, true/yes/on/1 mean encrypted (TLS or ADH).
func ParseTransport(s string) (Transport, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return TransportAuto, nil
	case "plain", "none", "false", "no", "off", "0":
		return TransportPlain, nil
	case "tls", "cert", "certificate":
		return TransportTLS, nil
	case "adh", "anon", "anonymous":
		return TransportADH, nil
	case "encrypted", "ssl", "true", "yes", "on", "1":
		return TransportEncrypted, nil
	}
	return "", fmt.Errorf("unknown transport %q (want auto, plain, tls, adh or encrypted)", s)
}

// Query is one NRPE request.
type Query struct {
	// Address is host:port.
	Address string
	// Command and Args make the query text "command!arg1!arg2".
	Command string
	Args    []string
	// Transport selects the transport; TLS configures TransportTLS (and the
	// TLS step of auto).
	Transport Transport
	TLS       *tls.Config
	// Version is the packet version to send first: 4 (falling back to 2 when
	// the server does not answer, as check_nrpe does) or 2.
	Version int
	// Net, when set, decides which addresses the query may connect to
	// (checked on the resolved address); nil allows all.
	Net *netpolicy.Policy
}

// Text is the query buffer sent to the daemon.
func (q *Query) Text() string {
	if len(q.Args) == 0 {
		return q.Command
	}
	return q.Command + "!" + strings.Join(q.Args, "!")
}

// Response is the daemon's answer.
type Response struct {
	ResultCode int
	Output     string
	// Version is the packet version the daemon answered with.
	Version int
	// Transport is what carried the exchange, Security describes it
	// ("TLSv1.2 ADH-AES256-GCM-SHA384", "TLS 1.3 TLS_AES_256_GCM_SHA384").
	Transport Transport
	Security  string
}

// maxOutput caps the output collected over several "more" packets.
const maxOutput = 1 << 20

// Errors a caller can tell apart with errors.Is / errors.As.
var (
	// ErrNoAnswer: the daemon closed the connection without answering.
	ErrNoAnswer = errors.New("daemon closed the connection without answering")
)

// DialError is a failure to open the TCP connection.
type DialError struct {
	Address string
	Err     error
}

func (e *DialError) Error() string { return fmt.Sprintf("connect to %s: %v", e.Address, e.Err) }
func (e *DialError) Unwrap() error { return e.Err }

// HandshakeError is a failed TLS or anonymous-DH handshake.
type HandshakeError struct {
	Transport Transport
	Err       error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("%s handshake failed: %v", e.Transport, e.Err)
}
func (e *HandshakeError) Unwrap() error { return e.Err }

// Client sends NRPE queries. It remembers, per host:port, which transport
// worked in auto mode. The zero value is not usable; use NewClient.
type Client struct {
	adh    adhDialer
	dialer net.Dialer
	mu     sync.Mutex
	worked map[string]Transport
}

// NewClient returns a client; Close frees its OpenSSL context.
func NewClient() *Client { return &Client{worked: map[string]Transport{}} }

// Close releases the OpenSSL context; the client must not be used after.
func (c *Client) Close() { c.adh.close() }

// Remembered returns the transport auto mode last used for addr, if any.
func (c *Client) Remembered(addr string) (Transport, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.worked[addr]
	return t, ok
}

func (c *Client) remember(addr string, t Transport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t == "" {
		delete(c.worked, addr)
	} else {
		c.worked[addr] = t
	}
}

// order lists the transports to try for q.
func (c *Client) order(q *Query) []Transport {
	var all []Transport
	switch q.Transport {
	case TransportAuto, "":
		all = []Transport{TransportTLS, TransportADH, TransportPlain}
	case TransportEncrypted:
		all = []Transport{TransportTLS, TransportADH}
	default:
		return []Transport{q.Transport}
	}
	if t, ok := c.Remembered(q.Address); ok {
		out := []Transport{t}
		for _, x := range all {
			if x != t {
				out = append(out, x)
			}
		}
		return out
	}
	return all
}

// Do sends q and returns the daemon's answer. In auto mode a failed
// handshake moves on to the next transport; a refused connection, a timeout
// or a certificate that fails verification ends the attempt at once.
func (c *Client) Do(ctx context.Context, q *Query) (*Response, error) {
	order := c.order(q)
	var tried []string
	for i, t := range order {
		resp, err := c.doWith(ctx, q, t)
		if err == nil {
			if len(order) > 1 {
				c.remember(q.Address, t)
			}
			return resp, nil
		}
		if i == len(order)-1 || !worthNextTransport(ctx, err, t) {
			if len(tried) == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("%w (also tried %s)", err, strings.Join(tried, "; "))
		}
		if i == 0 {
			c.remember(q.Address, "")
		}
		tried = append(tried, err.Error())
	}
	return nil, errors.New("no transport to try")
}

// worthNextTransport tells whether auto mode should try another transport
// after err: yes for a failed handshake, or a plain query the daemon hung up
// on; never after a timeout, a refused connection or a certificate that
// failed verification (that must not silently downgrade).
func worthNextTransport(ctx context.Context, err error, t Transport) bool {
	var he *HandshakeError
	var ve *tls.CertificateVerificationError
	switch {
	case ctx.Err() != nil, isTimeout(err), errors.As(err, &ve):
		return false
	case errors.As(err, &he):
		return true
	}
	return t == TransportPlain && errors.Is(err, ErrNoAnswer)
}

// doWith sends q over transport t, v4 first then v2 if the daemon closes
// without answering (what check_nrpe does).
func (c *Client) doWith(ctx context.Context, q *Query, t Transport) (*Response, error) {
	version := q.Version
	if version == 0 {
		version = Version4
	}
	resp, err := c.exchange(ctx, q, t, version)
	if err != nil && version == Version4 && ctx.Err() == nil && (errors.Is(err, ErrNoAnswer) || errors.Is(err, ErrBadPacket)) {
		resp, err = c.exchange(ctx, q, t, Version2)
	}
	return resp, err
}

// exchange opens one connection, sends one query packet and reads the answer.
func (c *Client) exchange(ctx context.Context, q *Query, t Transport, version int) (*Response, error) {
	pkt, err := EncodeQuery(version, q.Text())
	if err != nil {
		return nil, err
	}
	raw, err := q.Net.Dialer(&c.dialer).DialContext(ctx, "tcp", q.Address)
	if err != nil {
		return nil, &DialError{Address: q.Address, Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	// Cancellation (not only the deadline) interrupts blocked I/O.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn, security, err := c.secure(ctx, raw, q, t)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	defer conn.Close()

	if _, err := conn.Write(pkt); err != nil {
		return nil, fmt.Errorf("sending the query: %w", noAnswer(err))
	}
	resp, err := readResponse(conn)
	if err != nil {
		return nil, err
	}
	resp.Transport, resp.Security = t, security
	return resp, nil
}

// secure wraps raw in the transport's encryption.
func (c *Client) secure(ctx context.Context, raw net.Conn, q *Query, t Transport) (net.Conn, string, error) {
	switch t {
	case TransportPlain:
		return raw, "plain", nil
	case TransportADH:
		conn, info, err := c.adh.handshake(ctx, raw)
		if err != nil {
			return nil, "", &HandshakeError{Transport: t, Err: err}
		}
		return conn, info, nil
	case TransportTLS:
		cfg := q.TLS
		if cfg == nil {
			cfg = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // NRPE without a CA: encryption only, as check_nrpe
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, "", &HandshakeError{Transport: t, Err: err}
		}
		st := tc.ConnectionState()
		return tc, tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite), nil
	}
	return nil, "", fmt.Errorf("unknown transport %q", t)
}

// readResponse reads a response, joining "more" packets (type 3) the way
// check_nrpe does.
func readResponse(r io.Reader) (*Response, error) {
	var out strings.Builder
	for {
		p, err := ReadPacket(r)
		if err != nil {
			if out.Len() == 0 {
				return nil, noAnswer(err)
			}
			return nil, fmt.Errorf("reading a continuation packet: %w", err)
		}
		if p.Type != TypeResponse && p.Type != TypeResponseWithMore {
			return nil, fmt.Errorf("%w: expected a response, got packet type %d", ErrBadPacket, p.Type)
		}
		if out.Len()+len(p.Buffer) > maxOutput {
			return nil, fmt.Errorf("%w: response longer than %d bytes", ErrBadPacket, maxOutput)
		}
		out.WriteString(p.Buffer)
		if p.Type == TypeResponse {
			return &Response{ResultCode: p.ResultCode, Output: out.String(), Version: p.Version}, nil
		}
	}
}

// noAnswer marks a connection closed or reset by the daemon before it
// answered, which is how the daemon refuses a query it does not like.
func noAnswer(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
		return fmt.Errorf("%w (%w)", ErrNoAnswer, err)
	}
	return err
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout() &&
		(strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
