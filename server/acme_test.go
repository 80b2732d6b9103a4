package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/frontend"
	"github.com/bergamot-monitoring/bergamot/internal/pebbletest"
)

// With an ACME directory, serve obtains its certificate from the CA
// (here Let's Encrypt's pebble, validating by TLS-ALPN-01 on serve's own
// port), and the dashboard loads in Chromium trusting only pebble's root;
// plain HTTP on the port is redirected to HTTPS.
func TestACMEWithPebbleAndChromium(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	peb := pebbletest.Start(t, port, 1) // HTTP-01 is not used: port 1 answers nothing
	const name = "bergamot.test"
	tl, err := SetupTLS(TLSOptions{Mode: TLSAuto, ACMEDirectory: peb.Directory, ACMECAFile: peb.CAFile, Names: []string{name}, Dir: t.TempDir(), Listen: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	if tl.Mode != TLSACME {
		t.Fatalf("auto with a directory resolved to %s", tl.Mode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Serve(ctx, ln, New(Options{Frontend: frontend.Handler()}), Timeouts{}) }()
	t.Cleanup(func() { cancel(); <-done })

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(peb.Root(t)) {
		t.Fatal("pebble's root does not parse")
	}
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
	}
	c := &http.Client{Timeout: 90 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	url := "https://" + name + ":" + strconv.Itoa(port) + "/"
	resp, err := c.Get(url) // the first handshake waits for the order
	if err != nil {
		t.Fatalf("HTTPS with a certificate from pebble: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<title>Bergamot</title>") {
		t.Fatalf("dashboard over ACME TLS: %d %.200s", resp.StatusCode, body)
	}
	if issuer := resp.TLS.PeerCertificates[0].Issuer.CommonName; !strings.Contains(strings.ToLower(issuer), "pebble") {
		t.Fatalf("certificate issued by %q, want pebble's intermediate", issuer)
	}
	resp, err = c.Get("http://" + name + ":" + strconv.Itoa(port) + "/x")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://"+name+":"+strconv.Itoa(port)+"/x" {
		t.Fatalf("plain HTTP: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	home := peb.NSSHome(t)
	cctx, ccancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer ccancel()
	cmd := exec.CommandContext(cctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--host-resolver-rules=MAP "+name+" 127.0.0.1", "--virtual-time-budget=10000", "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	if !strings.Contains(dom, "Sign in") {
		t.Fatalf("Chromium trusting pebble's root did not load the dashboard's sign-in page:\n%.1500s", dom)
	}
}
