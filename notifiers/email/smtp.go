package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// deliver runs one SMTP session: connect, EHLO, STARTTLS, AUTH, MAIL, RCPT,
// DATA, QUIT. Errors are classified: 5xx replies, authentication and TLS
// failures are permanent; connection problems and 4xx replies transient.
func (e *Notifier) deliver(ctx context.Context, rcpt string, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	conn, err := e.dial(ctx)
	if err != nil {
		return classify(fmt.Errorf("email: connecting to %s: %w", e.cfg.addr(), err))
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, e.cfg.Host)
	if err != nil {
		return classify(fmt.Errorf("email: greeting from %s: %w", e.cfg.addr(), err))
	}
	defer c.Close()
	if err := e.session(c, rcpt, raw); err != nil {
		return classify(err)
	}
	return nil
}

func (e *Notifier) dial(ctx context.Context) (net.Conn, error) {
	nd := e.cfg.Dialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	if e.cfg.Security == ImplicitTLS {
		d := tls.Dialer{NetDialer: nd, Config: e.tlsConfig()}
		return d.DialContext(ctx, "tcp", e.cfg.addr())
	}
	return nd.DialContext(ctx, "tcp", e.cfg.addr())
}

func (e *Notifier) tlsConfig() *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.cfg.TLS != nil {
		tc = e.cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = e.cfg.Host
	}
	return tc
}

func (e *Notifier) session(c *smtp.Client, rcpt string, raw []byte) error {
	if err := c.Hello(e.cfg.HeloName); err != nil {
		return fmt.Errorf("email: EHLO: %w", err)
	}
	if e.cfg.Security == STARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return notifiers.Permanent(fmt.Errorf("%w (%s); use security \"none\" to send in clear text", ErrNoStartTLS, e.cfg.addr()))
		}
		if err := c.StartTLS(e.tlsConfig()); err != nil {
			return fmt.Errorf("email: STARTTLS: %w", err)
		}
	}
	if e.cfg.Username != "" {
		if err := e.auth(c); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return fmt.Errorf("email: MAIL FROM:<%s>: %w", e.from.Address, err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("email: RCPT TO:<%s>: %w", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("email: sending message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: message refused: %w", err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

func (e *Notifier) auth(c *smtp.Client) error {
	if _, isTLS := c.TLSConnectionState(); !isTLS && !isLoopback(e.cfg.Host) {
		return notifiers.Permanent(ErrAuthInClear)
	}
	ok, offered := c.Extension("AUTH")
	if !ok {
		return notifiers.Permanent(fmt.Errorf("%w: no AUTH advertised by %s", ErrAuthUnsupported, e.cfg.addr()))
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	mech := strings.ToUpper(e.cfg.Auth)
	if mech == "" {
		for _, m := range []string{"PLAIN", "LOGIN"} {
			if slices.Contains(mechs, m) {
				mech = m
				break
			}
		}
	}
	if mech == "" || !slices.Contains(mechs, mech) {
		return notifiers.Permanent(fmt.Errorf("%w: want %s, server offers %q", ErrAuthUnsupported, orAny(mech), offered))
	}
	var a smtp.Auth = &plainAuth{user: e.cfg.Username, pass: e.cfg.Password}
	if mech == "LOGIN" {
		a = &loginAuth{user: e.cfg.Username, pass: e.cfg.Password}
	}
	if err := c.Auth(a); err != nil {
		return notifiers.Permanent(fmt.Errorf("email: AUTH %s as %q: %w", mech, e.cfg.Username, err))
	}
	return nil
}

func orAny(m string) string {
	if m == "" {
		return "PLAIN or LOGIN"
	}
	return m
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// classify marks SMTP 5xx replies and TLS certificate failures permanent.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return notifiers.Permanent(err)
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return notifiers.Permanent(err)
	}
	return err
}

// plainAuth is AUTH PLAIN (RFC 4616). The caller has checked for TLS.
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// loginAuth is the AUTH LOGIN exchange: username, then password.
type loginAuth struct {
	user, pass string
	step       int
}

func (a *loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	prompt := strings.ToLower(strings.TrimSpace(string(challenge)))
	switch {
	case strings.HasPrefix(prompt, "user"), a.step == 1 && !strings.HasPrefix(prompt, "pass"):
		return []byte(a.user), nil
	case strings.HasPrefix(prompt, "pass"), a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", challenge)
}
