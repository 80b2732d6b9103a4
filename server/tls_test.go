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
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTLS serves a small handler with t on listen and returns the port.
func startTLS(t *testing.T, tl *TLS, listen string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Serve(ctx, ln, New(Options{Frontend: h}), Timeouts{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func hello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello over "+map[bool]string{true: "tls", false: "plain"}[r.TLS != nil]) })
}

func noRedirects(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Without TLS flags on a non-loopback address serve speaks HTTPS with a
// self-signed certificate it keeps under the data directory (the same one
// on the next start) and whose fingerprint it reports; plain HTTP to the
// same port is redirected to HTTPS; HTTPS answers carry HSTS.
func TestAutoTLSSelfSignedOnNonLoopback(t *testing.T) {
	dir := t.TempDir()
	tl, err := SetupTLS(TLSOptions{Listen: "0.0.0.0:0", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if tl.Config == nil || tl.Mode != "self-signed" || len(tl.Fingerprint) != 95 {
		t.Fatalf("auto on 0.0.0.0 gave mode %q fingerprint %q", tl.Mode, tl.Fingerprint)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, "self-signed.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	sum := sha256.Sum256(block.Bytes)
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); strings.ReplaceAll(tl.Fingerprint, ":", "") != want {
		t.Fatalf("printed fingerprint %s is not the kept certificate's %s", tl.Fingerprint, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, "self-signed.key")); st == nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v", st)
	}
	again, err := SetupTLS(TLSOptions{Listen: "0.0.0.0:0", Dir: dir})
	if err != nil || again.Fingerprint != tl.Fingerprint {
		t.Fatalf("second start made a new certificate (%v): %s vs %s", err, again.Fingerprint, tl.Fingerprint)
	}
	port := startTLS(t, tl, "0.0.0.0:0", hello())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := noRedirects(pool)
	resp, err := c.Get("https://localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "hello over tls" || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("HTTPS: %q, HSTS %q", body, resp.Header.Get("Strict-Transport-Security"))
	}
	resp, err = c.Get("http://localhost:" + port + "/checks?x=1")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://localhost:"+port+"/checks?x=1" {
		t.Fatalf("plain HTTP: %d to %q, want 308 to https on the same port", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain HTTP")
	}
}

func TestAutoTLSModes(t *testing.T) {
	for _, c := range []struct {
		o    TLSOptions
		mode string
		err  string
	}{
		{TLSOptions{Listen: "127.0.0.1:8080"}, TLSOff, ""},
		{TLSOptions{Listen: "localhost:8080"}, TLSOff, ""},
		{TLSOptions{Listen: ":8080", Mode: TLSOff}, TLSOff, ""},
		{TLSOptions{Listen: ":8080", Names: []string{"b.example"}}, TLSACME, ""},
		{TLSOptions{Listen: ":8080", Mode: TLSACME}, "", "--tls-names"},
		{TLSOptions{Listen: ":8080", Mode: TLSFiles, CertFile: "x.pem"}, "", "--tls-key"},
		{TLSOptions{Listen: ":8080", CertFile: "/nonexistent.pem", KeyFile: "/nonexistent.key"}, "", "loading --tls-cert /nonexistent.pem"},
		{TLSOptions{Listen: ":8080", Mode: "on"}, "", `--tls must be auto, acme, files or off, not "on"`},
	} {
		c.o.Dir = t.TempDir()
		tl, err := SetupTLS(c.o)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%+v: error %v, want %q", c.o, err, c.err)
		case c.err == "" && (err != nil || tl.Mode != c.mode):
			t.Errorf("%+v: %v, mode %v, want %s", c.o, err, tl, c.mode)
		}
	}
}

// writePair writes a certificate for name (valid from notBefore) and its key.
func writePair(t *testing.T, certFile, keyFile, name string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	// Rename both into place, as certbot and friends do.
	if err := os.Rename(keyFile+".tmp", keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".tmp", certFile); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// --tls-cert/--tls-key are loaded again when they change, without a
// restart; a broken pair keeps the previous certificate in service.
func TestTLSFilesReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePair(t, cf, kf, "first")
	tl, err := SetupTLS(TLSOptions{Mode: TLSFiles, CertFile: cf, KeyFile: kf, Listen: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	port := startTLS(t, tl, "127.0.0.1:0", hello())
	served := func() string {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) //nolint:gosec // the test reads the served certificate's name
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "first" {
		t.Fatalf("served %q", got)
	}
	writePair(t, cf, kf, "second")
	deadline := time.Now().Add(20 * time.Second)
	for served() != "second" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not picked up without a restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := os.WriteFile(cf, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := served(); got != "second" {
		t.Fatalf("a broken certificate file took %q out of service", got)
	}
}
