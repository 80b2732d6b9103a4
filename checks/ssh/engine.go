package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// Defaults for Options.
const (
	DefaultPort        = 22
	DefaultUser        = "bergamot"
	DefaultMaxSessions = 8
	DefaultIdleTimeout = 90 * time.Second
	DefaultOutputCap   = 64 << 10
	DefaultTimeout     = 60 * time.Second
)

// Options configure the engines. Zero values take the defaults.
type Options struct {
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// KnownHosts records the host keys trusted on first use (required in
	// production: store.HostKeys); nil keeps them in memory.
	KnownHosts KnownHosts
	// Dial opens the TCP connection to the server; nil is a net.Dialer.
	// The hosted execution policy is injected here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Script runs script executors; nil gives a default script engine.
	Script *script.Engine
	// MaxSessions bounds the sessions one pooled connection carries at a
	// time (OpenSSH's MaxSessions is 10; default 8).
	MaxSessions int
	// IdleTimeout closes a pooled connection nobody used for that long
	// (default 90s; negative: no reuse, close after each check).
	IdleTimeout time.Duration
	// OutputCap bounds the bytes of remote stdout+stderr kept (default 64 KiB).
	OutputCap int
	// DefaultTimeout applies when neither the request nor ctx has a deadline.
	DefaultTimeout time.Duration
}

// Engine is the "ssh" engine: executors "nagios" (the default: run
// command_line, check_by_ssh style) and "script" (a script with an `ssh`
// object). It is safe for concurrent use; Close releases its connections.
type Engine struct {
	opts Options
	log  *slog.Logger
	pool *pool
}

var _ checks.Engine = (*Engine)(nil)

// New returns an ssh engine with opts, defaults filled in.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KnownHosts == nil {
		opts.KnownHosts = &MemoryKnownHosts{}
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.Script == nil {
		opts.Script = script.New(script.Options{Logger: opts.Logger})
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.OutputCap <= 0 {
		opts.OutputCap = DefaultOutputCap
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	return &Engine{opts: opts, log: opts.Logger, pool: &pool{
		dial: opts.Dial, knownHosts: opts.KnownHosts, maxSessions: opts.MaxSessions,
		idleTimeout: opts.IdleTimeout, conns: map[poolKey]*conn{},
	}}
}

// Name returns "ssh".
func (e *Engine) Name() string { return "ssh" }

// Close closes the pooled connections.
func (e *Engine) Close() error {
	e.pool.close()
	return nil
}

// PooledConnections is how many connections are open for reuse.
func (e *Engine) PooledConnections() int { return e.pool.size() }

// Execute implements checks.Engine.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
	defer cancel()
	var res *checks.Result
	switch ex := executor(req, "nagios"); ex {
	case "nagios":
		res = e.runNagios(ctx, req)
	case "script":
		res = e.runScript(ctx, req)
	default:
		res = &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("the ssh engine has no executor %q (it has: nagios, script)", ex)}
	}
	res.Started, res.Runtime = start, time.Since(start)
	return res, nil
}

// CheckPolicy implements checks.PolicyChecker for ssh and sftp: under
// hosted, the server (parameter "host", else the check's host address)
// must not be a literal address or name the network policy refuses.
// Servers named inside a script are judged when dialled.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req)
}

// executor is the request's executor, def when none is named ("script"
// when the command has a script).
func executor(req *checks.Request, def string) string {
	if req.Executor != "" {
		return req.Executor
	}
	if strings.TrimSpace(req.Script) != "" {
		return "script"
	}
	return def
}

// targetOf reads where and as whom to connect from the check's parameters.
func targetOf(req *checks.Request) (target, error) {
	host, err := netcheck.Host(req)
	if err != nil {
		return target{}, err
	}
	port, err := netcheck.Port(req, DefaultPort)
	if err != nil {
		return target{}, err
	}
	t := target{
		site:   req.SiteID,
		policy: req.Policy,
		user:   req.Param("username", DefaultUser),
		addr:   netcheck.Address(host, port),
		auth: credentials{
			password:   req.Param("password", ""),
			privateKey: strings.TrimSpace(req.Param("private_key", "")),
			passphrase: req.Param("private_key_passphrase", ""),
		},
	}
	if t.auth.password == "" && t.auth.privateKey == "" {
		return t, errors.New(`no SSH credentials: give parameter "private_key" (PEM) or "password" (the stock commands take them from the site's credential "ssh")`)
	}
	return t, nil
}

// clientConfig builds the SSH client configuration for t: public-key
// authentication first when a key is given, then password (also through
// keyboard-interactive, which many servers use for passwords).
func (e *Engine) clientConfig(ctx context.Context, t target) func() (*gossh.ClientConfig, error) {
	return func() (*gossh.ClientConfig, error) {
		var methods []gossh.AuthMethod
		if t.auth.privateKey != "" {
			var signer gossh.Signer
			var err error
			if t.auth.passphrase != "" {
				signer, err = gossh.ParsePrivateKeyWithPassphrase([]byte(t.auth.privateKey), []byte(t.auth.passphrase))
			} else {
				signer, err = gossh.ParsePrivateKey([]byte(t.auth.privateKey))
			}
			var missing *gossh.PassphraseMissingError
			switch {
			case errors.As(err, &missing):
				return nil, paramError{errors.New(`parameter "private_key": the key is encrypted; give its passphrase in "private_key_passphrase"`)}
			case err != nil:
				return nil, paramError{fmt.Errorf(`parameter "private_key": not a private key in PEM/OpenSSH format: %w`, err)}
			}
			methods = append(methods, gossh.PublicKeys(signer))
		}
		if pw := t.auth.password; pw != "" {
			methods = append(methods, gossh.Password(pw), gossh.KeyboardInteractive(
				func(_, _ string, questions []string, _ []bool) ([]string, error) {
					answers := make([]string, len(questions))
					for i := range answers {
						answers[i] = pw
					}
					return answers, nil
				}))
		}
		return &gossh.ClientConfig{
			User:            t.user,
			Auth:            methods,
			HostKeyCallback: hostKeyCallback(context.WithoutCancel(ctx), e.opts.KnownHosts, t.site, t.addr),
			ClientVersion:   "SSH-2.0-Bergamot",
		}, nil
	}
}

// withSession runs fn with a session to t, reusing a pooled connection and
// retrying once on a fresh one when the pooled connection has died.
func (e *Engine) withSession(ctx context.Context, t target, fn func(*gossh.Session) error) error {
	return e.withConn(ctx, t, func(c *conn) error {
		s, err := c.newSession(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(s)
	})
}

// withConn runs fn with a connection to t (one session slot taken).
func (e *Engine) withConn(ctx context.Context, t target, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := e.pool.acquire(ctx, t, e.clientConfig(ctx, t))
		if err != nil {
			return err
		}
		err = fn(c)
		var fresh bool
		if err != nil && ctx.Err() == nil && attempt == 0 && reused && isStale(err) {
			fresh = true
		}
		c.release()
		if !fresh {
			return err
		}
		e.log.DebugContext(ctx, "ssh: pooled connection failed, reconnecting", slog.String("addr", t.addr), slog.Any("error", err))
	}
}

// failure turns a connection or session error into a check result.
func failure(ctx context.Context, t target, err error) *checks.Result {
	var changed *HostKeyChangedError
	if errors.As(err, &changed) {
		return &checks.Result{Status: checks.StatusCritical, Output: changed.Error()}
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &checks.Result{Status: checks.StatusTimeout, Output: fmt.Sprintf("SSH to %s@%s timed out", t.user, t.addr)}
	}
	if r := checks.PolicyRefusal(err); r != nil {
		return &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("SSH to %s@%s: %v", t.user, t.addr, r)}
	}
	var pe paramError
	if errors.As(err, &pe) {
		return &checks.Result{Status: checks.StatusError, Output: pe.Error()}
	}
	var ce *connectError
	if errors.As(err, &ce) {
		msg := netcheck.Describe(ctx, ce.err)
		if strings.Contains(msg, "unable to authenticate") {
			msg = "authentication failed (" + msg + ")"
		}
		// check_by_ssh: a connection that fails is UNKNOWN, not the plugin's verdict.
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("SSH to %s@%s failed: %s: %s", t.user, t.addr, ce.op, msg)}
	}
	return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("SSH to %s@%s failed: %v", t.user, t.addr, err)}
}

// paramError is a check parameter that is wrong: the check's configuration,
// not the server, is at fault (ERROR).
type paramError struct{ error }

func (e paramError) Unwrap() error { return e.error }
