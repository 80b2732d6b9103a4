package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/server"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// tlsFlags are serve's TLS and proxy flags (docs/accounts.md).
type tlsFlags struct {
	mode, cert, key, names, acmeDir, acmeCA, acmeEmail, proxies, httpListen *string
}

func addTLSFlags(fs *flag.FlagSet) *tlsFlags {
	return &tlsFlags{
		mode: fs.String("tls", getenv("BERGAMOT_TLS", server.TLSAuto), "auto, acme, files or off (env BERGAMOT_TLS). auto: ACME when --acme-directory or --tls-names is given, "+
			"--tls-cert/--tls-key when given, plain HTTP on a loopback address, else a self-signed certificate kept in $BERGAMOT_DATA/tls"),
		cert:       fs.String("tls-cert", os.Getenv("BERGAMOT_TLS_CERT"), "PEM certificate (chain) file; reloaded when it changes"),
		key:        fs.String("tls-key", os.Getenv("BERGAMOT_TLS_KEY"), "PEM private key file; reloaded when it changes"),
		names:      fs.String("tls-names", os.Getenv("BERGAMOT_TLS_NAMES"), "host names the certificate is for, comma-separated (ACME obtains these)"),
		acmeDir:    fs.String("acme-directory", os.Getenv("BERGAMOT_ACME_DIRECTORY"), "ACME directory URL (default Let's Encrypt's)"),
		acmeCA:     fs.String("acme-ca", os.Getenv("BERGAMOT_ACME_CA"), "PEM roots to trust for the ACME server's own HTTPS (a private CA); default the system's"),
		acmeEmail:  fs.String("acme-email", os.Getenv("BERGAMOT_ACME_EMAIL"), "contact email for the ACME account"),
		proxies:    fs.String("trusted-proxy", os.Getenv("BERGAMOT_TRUSTED_PROXY"), "CIDR(s) of TLS-terminating proxies whose X-Forwarded-For/-Proto are believed, comma-separated"),
		httpListen: fs.String("http-listen", os.Getenv("BERGAMOT_HTTP_LISTEN"), "also listen for plain HTTP here (e.g. :80): redirects to HTTPS and answers ACME HTTP-01 challenges"),
	}
}

// resolve turns the flags into the TLS setup and trusted proxies, refusing
// what would send passwords and cookies in clear without the operator
// saying so.
func (f *tlsFlags) resolve(env *Env, listen string) (*server.TLS, []netip.Prefix, error) {
	proxies, err := server.ParseTrustedProxies(*f.proxies)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, n := range strings.Split(*f.names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	t, err := server.SetupTLS(server.TLSOptions{Mode: *f.mode, CertFile: *f.cert, KeyFile: *f.key, ACMEDirectory: *f.acmeDir, ACMECAFile: *f.acmeCA,
		ACMEEmail: *f.acmeEmail, Names: names, Dir: filepath.Join(env.Data, "tls"), Listen: listen, Logger: env.Logger})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case t.Config == nil && !server.IsLoopback(listen) && *f.mode != server.TLSOff:
		return nil, nil, fmt.Errorf("refusing to serve plain HTTP on %s, reachable from other machines: passwords, cookies and tokens would cross the network in clear. "+
			"Use --tls auto (the default), or --tls off behind a TLS-terminating proxy (with --trusted-proxy CIDR)", listen)
	case t.Config == nil && !server.IsLoopback(listen) && len(proxies) == 0:
		env.Logger.Warn("serving plain HTTP on a non-loopback address (--tls off): put a TLS-terminating proxy in front and name it with --trusted-proxy CIDR, or client addresses and Secure cookies will be wrong",
			slog.String("listen", listen))
	}
	if t.Fingerprint != "" {
		fmt.Fprintf(os.Stderr, "\n  HTTPS with a self-signed certificate (%s).\n  Its SHA-256 fingerprint, to compare with what your browser shows:\n  %s\n\n",
			filepath.Join(env.Data, "tls", "self-signed.crt"), t.Fingerprint)
		env.Logger.Info("self-signed TLS certificate", slog.String("sha256", t.Fingerprint))
	}
	return t, proxies, nil
}

// csrfGuard is the anti-forgery rule of every serve node (server.CSRF).
func csrfGuard(ts *tenants.Store) *server.CSRF {
	return &server.CSRF{Cookie: graph.SessionCookie, Token: tenants.CSRFToken, SessionValid: ts.SessionValid}
}

// listenHTTP starts the plain-HTTP side listener of --http-listen.
func listenHTTP(ctx context.Context, t *server.TLS, addr, httpsAddr string) (net.Listener, func() error, error) {
	if t == nil || t.Config == nil {
		return nil, nil, errors.New("--http-listen needs TLS: it redirects to HTTPS")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s (--http-listen): %w", addr, err)
	}
	_, port, _ := net.SplitHostPort(httpsAddr)
	srv := server.HTTPServer(ctx, t.RedirectHandler(port), server.Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second})
	run := func() error {
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return ln, run, nil
}

// pruneAudit removes audit entries past each site's retention, and the
// sites of sign-ups nobody confirmed in time, hourly.
func pruneAudit(ts *tenants.Store, log *slog.Logger) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := ts.PruneAudit(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "pruning the audit log failed", slog.Any("error", err))
			} else if n > 0 {
				log.InfoContext(ctx, "pruned the audit log", slog.Int64("entries", n))
			}
			if names, err := ts.ReleaseUnconfirmedSignups(ctx, ""); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "releasing unconfirmed sign-ups failed", slog.Any("error", err))
			} else if len(names) > 0 {
				log.InfoContext(ctx, "deleted sites whose sign-up was never confirmed", slog.Any("sites", names))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
