package http

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// checkCertificate is the "certificate" executor: a TLS handshake and a
// judgement of the certificate presented (trust, then expiry against
// expires_in warning days, default 28, and critical_expires_in, default 7).
func (e *Engine) checkCertificate(ctx context.Context, req *checks.Request) *checks.Result {
	s, err := parseSpec(req, true)
	if err != nil {
		return misconfigured(err)
	}
	settings := netcheck.TLSSettingsFrom(req, s.serverName)
	cfg, err := settings.Config()
	if err != nil {
		return misconfigured(err)
	}
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true //nolint:gosec // verified below so that expiry can be reported
	addr := s.url.Host
	if s.url.Port() == "" {
		addr = net.JoinHostPort(s.url.Hostname(), "443")
	}
	d := tls.Dialer{Config: cfg, NetDialer: s.key.net.Dialer(nil)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		st := netcheck.FailStatus(ctx, err)
		return &checks.Result{Status: st, Output: fmt.Sprintf("%s - %s to %s", st, netcheck.Describe(ctx, err), addr)}
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	st, msg := netcheck.EvaluateCertificate(state, s.serverName, netcheck.CertPolicy{
		WarnDays: s.certWarn, CritDays: s.certCrit, PermitInvalid: settings.PermitInvalid, Roots: roots,
	}, e.opts.Now())
	out := &checks.Result{Status: st, Output: fmt.Sprintf("%s - %s", st, msg)}
	if len(state.PeerCertificates) > 0 {
		days := state.PeerCertificates[0].NotAfter.Sub(e.opts.Now()).Hours() / 24
		out.Perfdata = []checks.Perfdata{netcheck.Perf("expires_in", float64(int(days)), "", fmt.Sprint(s.certWarn)+":", fmt.Sprint(s.certCrit)+":", nil)}
		out.LongOutput = fmt.Sprintf("subject: %s\nissuer: %s\nnot after: %s", state.PeerCertificates[0].Subject,
			state.PeerCertificates[0].Issuer, state.PeerCertificates[0].NotAfter.UTC())
	}
	return out
}
