// Package irc posts notifications to an IRC channel.
//
// The Notifier keeps one connection per server and nick, shared by every
// Send and safe for concurrent use. The connection registers (PASS, NICK,
// USER), answers PING, joins the channel and stays up; when it drops it is
// re-established with exponential backoff, and Send waits (within its
// context) for it. Each Send ends with a PING and returns only when the
// server's PONG proves that the messages before it arrived. Long messages
// are split into several PRIVMSG lines. Close quits cleanly.
package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Channel is the channel name.
const Channel = "irc"

// Errors.
var (
	ErrClosed       = errors.New("irc: notifier closed")
	ErrNotConnected = errors.New("irc: not connected")
)

var (
	_ notifiers.Notifier = (*Notifier)(nil)
	_ notifiers.Closer   = (*Notifier)(nil)
)

// Config configures the IRC connection.
type Config struct {
	// Server is host:port. Required.
	Server string
	// TLS connects with TLS; TLSConfig tunes it (nil: system roots).
	TLS       bool
	TLSConfig *tls.Config
	// Password is sent as PASS when set.
	Password string
	// Nick is the bot's nick (required); User and RealName default to it.
	Nick     string
	User     string
	RealName string
	// Channel to join and post to, e.g. "#ops" (required), and its key.
	Channel    string
	ChannelKey string
	// MaxLineBytes bounds the text of one PRIVMSG (default 400).
	MaxLineBytes int
	// ConnectTimeout bounds the TCP connect and, separately, the TLS
	// handshake (default 15s).
	ConnectTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the reconnect backoff (1s, 2m).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// Logger receives connection events (default: discard).
	Logger *slog.Logger
	// Dialer, when set, makes the connections (the hosted execution
	// policy's, whose Control hook refuses the operator's network on the
	// resolved address); its Timeout and KeepAlive are replaced.
	Dialer *net.Dialer
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	if c.Server == "" {
		return errors.New("irc: server is required")
	}
	if _, port, err := net.SplitHostPort(c.Server); err != nil || port == "" {
		return fmt.Errorf("irc: server %q must be host:port", c.Server)
	}
	if c.Nick == "" {
		return errors.New("irc: nick is required")
	}
	if strings.ContainsAny(c.Nick, " ,*?!@#:\r\n") {
		return fmt.Errorf("irc: nick %q contains characters IRC does not allow", c.Nick)
	}
	if c.Channel == "" {
		return errors.New("irc: channel is required")
	}
	if !strings.ContainsAny(c.Channel[:1], "#&+!") || strings.ContainsAny(c.Channel, " ,\a\r\n") {
		return fmt.Errorf("irc: channel %q must start with # (or &, +, !) and contain no spaces or commas", c.Channel)
	}
	if c.MaxLineBytes < 0 || (c.MaxLineBytes > 0 && c.MaxLineBytes < 32) {
		return fmt.Errorf("irc: max line bytes %d must be at least 32", c.MaxLineBytes)
	}
	if c.ConnectTimeout < 0 {
		return errors.New("irc: connect timeout must not be negative")
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < 0 {
		return errors.New("irc: reconnect backoff must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.User == "" {
		c.User = c.Nick
	}
	if c.RealName == "" {
		c.RealName = "Bergamot notifications"
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = 400
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 15 * time.Second
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = time.Second
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Notifier posts to IRC over shared connections.
type Notifier struct {
	cfg       Config
	templates *notifiers.Templates

	mu     sync.Mutex
	conns  map[string]*conn // by server + nick
	closed bool
}

// New validates cfg and returns a Notifier. It connects on first Send.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg.withDefaults(), templates: notifiers.DefaultTemplates(), conns: map[string]*conn{}}, nil
}

// Name returns "irc".
func (*Notifier) Name() string { return Channel }

// Send posts n to the channel, addressed to the recipient's nick when set
// ("nick: ..."), and waits until the server has received it.
func (nf *Notifier) Send(ctx context.Context, n *notifiers.Notification, to notifiers.Recipient) error {
	msg, err := notifiers.RenderWith(nf.templates, Channel, n)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("irc: %w", err))
	}
	text := msg.Text
	if nick := to.Address(Channel); nick != "" {
		text = nick + ": " + text
	}
	c, err := nf.conn(ctx)
	if err != nil {
		return err
	}
	return c.post(ctx, SplitMessage(text, nf.cfg.MaxLineBytes))
}

func (nf *Notifier) conn(ctx context.Context) (*conn, error) {
	nf.mu.Lock()
	defer nf.mu.Unlock()
	if nf.closed {
		return nil, notifiers.Permanent(ErrClosed)
	}
	key := nf.cfg.Server + "\x00" + nf.cfg.Nick
	c, ok := nf.conns[key]
	if !ok {
		c = newConn(context.WithoutCancel(ctx), nf.cfg)
		nf.conns[key] = c
	}
	return c, nil
}

// Close sends QUIT on every connection and stops reconnecting. It waits
// for the connections to end, or for ctx.
func (nf *Notifier) Close(ctx context.Context) error {
	nf.mu.Lock()
	nf.closed = true
	conns := nf.conns
	nf.conns = map[string]*conn{}
	nf.mu.Unlock()
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.close(ctx))
	}
	return errors.Join(errs...)
}

// SplitMessage turns text into PRIVMSG payloads of at most max bytes:
// one per line, long lines cut at a space when there is one in the last
// quarter, never inside a UTF-8 sequence. Control characters (but IRC
// formatting codes) are dropped; empty lines are skipped.
func SplitMessage(text string, max int) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.Map(func(r rune) rune {
			switch {
			case r == '\t':
				return ' '
			case r == 0x02 || r == 0x03 || r == 0x0f || r == 0x16 || r == 0x1d || r == 0x1f:
				return r
			case r < 0x20 || r == 0x7f:
				return -1
			}
			return r
		}, line))
		for len(line) > max {
			cut := max
			for cut > 0 && !utf8Start(line[cut]) {
				cut--
			}
			if cut == 0 {
				cut = max
			}
			if sp := strings.LastIndexByte(line[:cut], ' '); sp > max*3/4 {
				cut = sp
			}
			out = append(out, strings.TrimSpace(line[:cut]))
			line = strings.TrimSpace(line[cut:])
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
