package notifiers

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Params are channel settings: the site's parameters overlaid with one
// contact's, e.g. "smtp.host" -> "mail.example.com". Secrets appear here
// only after credential references were resolved (dispatch.ResolveSecrets).
type Params map[string]string

// Get returns the trimmed value of name.
func (p Params) Get(name string) string { return strings.TrimSpace(p[name]) }

// Int parses an optional integer parameter.
func (p Params) Int(name string) (int, error) {
	v := p.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %q is not a number", name, v)
	}
	return n, nil
}

// Duration parses an optional duration parameter ("10s"; a bare number is seconds).
func (p Params) Duration(name string) (time.Duration, error) {
	v := p.Get(name)
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %q is not a duration", name, v)
	}
	return d, nil
}

// Bool parses an optional yes/no parameter.
func (p Params) Bool(name string) bool {
	switch strings.ToLower(p.Get(name)) {
	case "yes", "true", "1", "on":
		return true
	}
	return false
}

// Flag parses an optional yes/no parameter strictly: yes, true, on, 1 and
// no, false, off, 0 (any case); anything else is an error naming it.
func (p Params) Flag(name string) (bool, error) {
	switch v := strings.ToLower(p.Get(name)); v {
	case "yes", "true", "on", "1":
		return true, nil
	case "", "no", "false", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("parameter %s: %q is not yes or no", name, p.Get(name))
}

// TLSConfig is the certificate checking of a channel: base (nil: system
// roots), with the roots replaced by the certificates of the parameter
// <prefix>tls-ca when set, and ServerName host unless base names one. It
// returns nil (system roots, default checks) when neither is set.
func TLSConfig(p Params, prefix, host string, base *tls.Config) (*tls.Config, error) {
	name := prefix + "tls-ca"
	ca := p.Get(name)
	if ca == "" && base == nil {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if ca != "" {
		pool, err := parseCAs(ca)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// parseCAs reads PEM certificates; anything else in the text is an error.
func parseCAs(text string) (*x509.CertPool, error) {
	// Indentation (PEM pasted into indented XML) is not part of PEM.
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	pool := x509.NewCertPool()
	rest := []byte(strings.Join(lines, "\n"))
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE", n, b.Type)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("must be PEM certificates (-----BEGIN CERTIFICATE----- ...)")
	}
	return pool, nil
}
