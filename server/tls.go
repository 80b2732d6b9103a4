package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLS modes of `bergamot serve --tls`.
const (
	TLSAuto  = "auto"  // ACME when a directory or names are given, else self-signed (plain only on loopback)
	TLSACME  = "acme"  // certificates from an ACME CA (Let's Encrypt by default)
	TLSFiles = "files" // --tls-cert/--tls-key, reloaded when they change
	TLSOff   = "off"   // plain HTTP (behind a TLS-terminating proxy)
)

// TLSOptions are serve's TLS flags.
type TLSOptions struct {
	Mode string
	// CertFile and KeyFile are PEM files (mode files).
	CertFile, KeyFile string
	// ACMEDirectory is the ACME directory URL (default Let's Encrypt's).
	ACMEDirectory string
	// ACMECAFile holds PEM roots to trust when talking to the ACME server
	// (a private CA such as pebble); empty means the system's.
	ACMECAFile string
	// ACMEEmail is the contact address given to the CA.
	ACMEEmail string
	// Names are the host names certificates are for (ACME obtains exactly
	// these; a self-signed certificate adds them to its defaults).
	Names []string
	// Dir keeps the self-signed certificate and the ACME account and
	// certificates (BERGAMOT_DATA/tls).
	Dir string
	// Listen is the HTTPS listen address; a plain loopback address in
	// mode auto stays plain HTTP.
	Listen string
	Logger *slog.Logger
}

// TLS is the resolved TLS setup of a serve node.
type TLS struct {
	// Mode is the mode in effect (auto resolved).
	Mode string
	// Config is nil when serving plain HTTP.
	Config *tls.Config
	// Fingerprint is the SHA-256 of a self-signed certificate ("" otherwise).
	Fingerprint string
	// acme, when set, answers HTTP-01 challenges on the redirect listener.
	acme *autocert.Manager
}

// IsLoopback reports whether a listen address is reachable only from this
// machine (127.0.0.0/8, ::1, localhost); ":8080" and "0.0.0.0:8080" are not.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SetupTLS resolves o into a TLS configuration: it loads or creates the
// self-signed certificate, checks the certificate files, or prepares the
// ACME client. Errors name the flag to fix.
func SetupTLS(o TLSOptions) (*TLS, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mode := o.Mode
	if mode == "" {
		mode = TLSAuto
	}
	if mode == TLSAuto {
		switch {
		case o.CertFile != "" || o.KeyFile != "":
			mode = TLSFiles
		case o.ACMEDirectory != "" || len(o.Names) > 0:
			mode = TLSACME
		case IsLoopback(o.Listen):
			mode = TLSOff
		default:
			return selfSigned(o)
		}
	}
	switch mode {
	case TLSOff:
		return &TLS{Mode: TLSOff}, nil
	case TLSFiles:
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("--tls files needs both --tls-cert FILE and --tls-key FILE")
		}
		r := &certReloader{cert: o.CertFile, key: o.KeyFile, log: o.Logger}
		if err := r.load(); err != nil {
			return nil, err
		}
		return &TLS{Mode: TLSFiles, Config: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.get, NextProtos: []string{"h2", "http/1.1"}}}, nil
	case TLSACME:
		return setupACME(o)
	}
	return nil, fmt.Errorf("--tls must be auto, acme, files or off, not %q", o.Mode)
}

func setupACME(o TLSOptions) (*TLS, error) {
	if len(o.Names) == 0 {
		return nil, errors.New("--tls acme needs the host names to obtain certificates for: --tls-names bergamot.example.com[,...]")
	}
	client := &acme.Client{DirectoryURL: o.ACMEDirectory}
	if client.DirectoryURL == "" {
		client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	if o.ACMECAFile != "" {
		pemBytes, err := os.ReadFile(o.ACMECAFile)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--acme-ca %s holds no PEM certificate", o.ACMECAFile)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	dir := filepath.Join(o.Dir, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	m := &autocert.Manager{Prompt: autocert.AcceptTOS, Cache: autocert.DirCache(dir), HostPolicy: autocert.HostWhitelist(o.Names...),
		Email: o.ACMEEmail, Client: client}
	cfg := m.TLSConfig()
	cfg.MinVersion = tls.VersionTLS12
	o.Logger.Info("TLS certificates by ACME", slog.String("directory", client.DirectoryURL), slog.String("names", strings.Join(o.Names, ",")))
	return &TLS{Mode: TLSACME, Config: cfg, acme: m}, nil
}

// selfSignedNames are the names a self-signed certificate is made for.
func selfSignedNames(o TLSOptions) []string {
	names := append([]string{"localhost"}, o.Names...)
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	if host, _, err := net.SplitHostPort(o.Listen); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
		names = append(names, host)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// selfSigned loads the self-signed certificate kept in o.Dir, or makes a
// new one when there is none, it expires within a month, or it lacks a name.
func selfSigned(o TLSOptions) (*TLS, error) {
	certFile, keyFile := filepath.Join(o.Dir, "self-signed.crt"), filepath.Join(o.Dir, "self-signed.key")
	names := selfSignedNames(o)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil && (time.Until(cert.Leaf.NotAfter) < 30*24*time.Hour || !coversAll(cert.Leaf, names)) {
		err = errors.New("renew")
	}
	if err != nil {
		if cert, err = makeSelfSigned(certFile, keyFile, names); err != nil {
			return nil, err
		}
		o.Logger.Info("created a self-signed TLS certificate", slog.String("file", certFile))
	}
	sum := sha256.Sum256(cert.Leaf.Raw)
	fp := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fp[i : i+2])
	}
	return &TLS{Mode: "self-signed", Fingerprint: b.String(),
		Config: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}}, nil
}

func coversAll(c *x509.Certificate, names []string) bool {
	for _, n := range names {
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

func makeSelfSigned(certFile, keyFile string, names []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making TLS certificate: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0], Organization: []string{"Bergamot (self-signed)"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(397 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	tmpl.IPAddresses = append(tmpl.IPAddresses, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making TLS certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making TLS key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("creating %s: %w", filepath.Dir(certFile), err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("writing TLS key: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("writing TLS certificate: %w", err)
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

// certReloader serves the certificate of two files and loads them again
// when either changes (checked at most once a second, on a handshake). A
// pair that fails to load is logged and the previous one kept.
type certReloader struct {
	cert, key string
	log       *slog.Logger
	mu        sync.Mutex
	current   *tls.Certificate
	stamp     string
	checked   time.Time
}

func (r *certReloader) fileStamp() string {
	var b strings.Builder
	for _, f := range []string{r.cert, r.key} {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d/%d;", st.ModTime().UnixNano(), st.Size())
		}
	}
	return b.String()
}

func (r *certReloader) load() error {
	stamp := r.fileStamp()
	c, err := tls.LoadX509KeyPair(r.cert, r.key)
	if err != nil {
		return fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", r.cert, r.key, err)
	}
	r.current, r.stamp = &c, stamp
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) >= time.Second {
		r.checked = time.Now()
		if s := r.fileStamp(); s != r.stamp {
			if err := r.load(); err != nil {
				r.stamp = s // do not retry a broken pair on every handshake
				r.log.Error("TLS certificate files changed but do not load; keeping the previous certificate", slog.Any("error", err))
			} else {
				r.log.Info("TLS certificate reloaded", slog.String("file", r.cert), slog.Time("expires", r.current.Leaf.NotAfter))
			}
		}
	}
	return r.current, nil
}

// redirectToHTTPS answers plain HTTP with a permanent redirect to the same
// URL over HTTPS. httpsPort, when set, replaces the request's port.
func redirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if httpsPort != "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if httpsPort != "443" {
				host = net.JoinHostPort(host, httpsPort)
			}
		}
		if host == "" {
			http.Error(w, "this server speaks HTTPS: use https://", http.StatusBadRequest)
			return
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// RedirectHandler is what a plain-HTTP listener next to the HTTPS one
// serves (serve --http-listen): ACME HTTP-01 challenges when the
// certificates come by ACME, else a redirect to httpsPort.
func (t *TLS) RedirectHandler(httpsPort string) http.Handler {
	h := redirectToHTTPS(httpsPort)
	if t.acme != nil {
		return t.acme.HTTPHandler(h)
	}
	return h
}

// Serve serves handler on ln until ctx ends: HTTPS when t has a
// configuration, with plain HTTP on the same port redirected to HTTPS
// (a browser given http://host:port/ lands on https://host:port/).
func (t *TLS) Serve(ctx context.Context, ln net.Listener, handler http.Handler, to Timeouts) error {
	srv := HTTPServer(ctx, handler, to)
	if t == nil || t.Config == nil {
		return serveUntil(ctx, srv, ln)
	}
	srv.TLSConfig = t.Config
	tlsLn, plainLn := splitTLS(ln)
	redirect := HTTPServer(ctx, redirectToHTTPS(""), Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Idle: time.Second})
	errc := make(chan error, 1)
	go func() { errc <- serveUntil(ctx, redirect, plainLn) }()
	err := serveUntil(ctx, srv, tls.NewListener(tlsLn, t.Config))
	if rerr := <-errc; err == nil {
		err = rerr
	}
	return err
}

// serveUntil runs srv on ln and shuts it down when ctx ends.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) || ctx.Err() != nil && errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
