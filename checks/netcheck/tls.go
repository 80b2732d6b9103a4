package netcheck

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// TLSSettings are the TLS client options a check can set through its
// parameters. They are comparable, so they can key a cache of transports.
type TLSSettings struct {
	// ServerName is the SNI name and the name the certificate must match.
	ServerName string
	// PermitInvalid skips chain and name verification ("permit_invalid_certs").
	PermitInvalid bool
	// CAFile, ClientCert and ClientKey are PEM file paths ("ca_file",
	// "client_cert", "client_key").
	CAFile, ClientCert, ClientKey string
}

// TLSSettingsFrom reads the TLS parameters of a request; serverName is the
// SNI name the engine chose (virtual host or host).
func TLSSettingsFrom(req *checks.Request, serverName string) TLSSettings {
	return TLSSettings{
		ServerName:    serverName,
		PermitInvalid: req.BoolParam("permit_invalid_certs", false),
		CAFile:        strings.TrimSpace(req.Param("ca_file", "")),
		ClientCert:    strings.TrimSpace(req.Param("client_cert", "")),
		ClientKey:     strings.TrimSpace(req.Param("client_key", "")),
	}
}

// Config builds a tls.Config from the settings, loading files it names.
func (s TLSSettings) Config() (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         s.ServerName,
		InsecureSkipVerify: s.PermitInvalid, //nolint:gosec // the user asked for it with permit_invalid_certs
		MinVersion:         tls.VersionTLS10,
	}
	roots, err := CertPool("ca_file", s.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = roots
	if s.ClientCert != "" || s.ClientKey != "" {
		if s.ClientCert == "" || s.ClientKey == "" {
			return nil, errors.New(`parameters "client_cert" and "client_key" must be given together`)
		}
		pair, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
		if err != nil {
			return nil, fmt.Errorf(`parameters "client_cert"/"client_key": %w`, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// CertPolicy says when a presented certificate is a problem.
type CertPolicy struct {
	// WarnDays and CritDays: warn/critical when the leaf expires within that
	// many days; 0 disables that level. An expired certificate is always CRITICAL.
	WarnDays, CritDays int
	// PermitInvalid accepts untrusted chains and name mismatches.
	PermitInvalid bool
	// Roots verifies the chain; nil means the system roots.
	Roots *x509.CertPool
}

// EvaluateCertificate judges the certificate a server presented: trust
// (unless permitted), then expiry. name is what the certificate must match.
func EvaluateCertificate(state tls.ConnectionState, name string, p CertPolicy, now time.Time) (checks.Status, string) {
	if len(state.PeerCertificates) == 0 {
		return checks.StatusCritical, fmt.Sprintf("%s presented no certificate", name)
	}
	leaf := state.PeerCertificates[0]
	if !p.PermitInvalid {
		inter := x509.NewCertPool()
		for _, c := range state.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: p.Roots, Intermediates: inter, CurrentTime: now})
		// An expired (or not yet valid) certificate is left to CertExpiry, which says which and when.
		var inv x509.CertificateInvalidError
		expired := errors.As(err, &inv) && inv.Reason == x509.Expired
		if err != nil && !expired {
			return checks.StatusCritical, DescribeCertError(err, name, now)
		}
	}
	return CertExpiry(leaf, name, p.WarnDays, p.CritDays, now)
}

// CertExpiry judges only the expiry of leaf.
func CertExpiry(leaf *x509.Certificate, name string, warnDays, critDays int, now time.Time) (checks.Status, string) {
	left := leaf.NotAfter.Sub(now)
	until := leaf.NotAfter.UTC().Format("2006-01-02 15:04 MST")
	days := int(left.Hours() / 24)
	switch {
	case now.Before(leaf.NotBefore):
		return checks.StatusCritical, fmt.Sprintf("certificate for %s is not valid until %s", name, leaf.NotBefore.UTC().Format("2006-01-02 15:04 MST"))
	case left <= 0:
		return checks.StatusCritical, fmt.Sprintf("certificate for %s expired %s (%s)", name, daysAgo(-left), until)
	case critDays > 0 && left < time.Duration(critDays)*24*time.Hour:
		return checks.StatusCritical, fmt.Sprintf("certificate for %s expires in %s (%s)", name, plural(days, "day"), until)
	case warnDays > 0 && left < time.Duration(warnDays)*24*time.Hour:
		return checks.StatusWarning, fmt.Sprintf("certificate for %s expires in %s (%s)", name, plural(days, "day"), until)
	}
	return checks.StatusOK, fmt.Sprintf("certificate for %s is valid for %s (until %s)", name, plural(days, "more day"), until)
}

func daysAgo(d time.Duration) string {
	days := int(d.Hours() / 24)
	if days == 0 {
		return "today"
	}
	return plural(days, "day") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// DescribeCertError explains a certificate verification failure.
func DescribeCertError(err error, name string, now time.Time) string {
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil:
		if now.Before(inv.Cert.NotBefore) {
			return fmt.Sprintf("certificate for %s is not valid yet", name)
		}
		_, msg := CertExpiry(inv.Cert, name, 0, 0, now)
		return msg
	case errors.As(err, &unk):
		return fmt.Sprintf("certificate for %s is not trusted (%s)", name, issuerOf(unk.Cert))
	case errors.As(err, &host):
		return fmt.Sprintf("certificate is not valid for %s (it is for %s)", name, certNames(host.Certificate))
	}
	return fmt.Sprintf("certificate for %s is invalid: %v", name, err)
}

func issuerOf(c *x509.Certificate) string {
	if c == nil {
		return "unknown issuer"
	}
	if c.Issuer.String() == c.Subject.String() {
		return "self-signed by " + c.Subject.String()
	}
	return "signed by unknown authority " + c.Issuer.String()
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

// TLSError describes a handshake failure, with certificate detail when the
// failure was verification.
func TLSError(err error, name string, now time.Time) (string, bool) {
	var ve *tls.CertificateVerificationError
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	if errors.As(err, &ve) || errors.As(err, &inv) || errors.As(err, &unk) || errors.As(err, &host) {
		return DescribeCertError(err, name, now), true
	}
	return "", false
}
