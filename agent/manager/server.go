package manager

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"
)

// The manager's API, over mutual TLS on its own port: only a client
// holding a node certificate signed by the root (DIR/node/) is served.
//
//	POST /v1/sign     SignRequest -> Signed          an agent or template certificate from a CSR
//	POST /v1/hub      HubRequest  -> Signed          a hub's server certificate
//	POST /v1/revoke   RevokeRequest -> RevokeAnswer
//	GET  /v1/revoked  -> []Revoked
//	GET  /v1/issued   -> []Issued

// SignRequest asks for an agent certificate: the CSR proves the agent holds
// the key, which never leaves its host.
type SignRequest struct {
	Kind string `json:"kind"` // KindAgent (default) or KindTemplate
	Site string `json:"site"`
	Name string `json:"name"`
	CSR  string `json:"csr"` // PEM
	// Lifetime in seconds (0: the manager's).
	Lifetime int64 `json:"lifetime,omitempty"`
}

// HubRequest asks for a hub's server certificate.
type HubRequest struct {
	CSR   string   `json:"csr"`
	Names []string `json:"names"`
}

// RevokeRequest revokes a site's certificate by serial, or all of a host's.
type RevokeRequest struct {
	Site   string `json:"site"`
	Serial string `json:"serial,omitempty"`
	Host   string `json:"host,omitempty"`
}

// RevokeAnswer lists the serials newly revoked.
type RevokeAnswer struct {
	Revoked []string `json:"revoked"`
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// Server serves the API for one CA.
type Server struct {
	CA     *CA
	Logger *slog.Logger
}

// TLSConfig is the manager's server side: its own certificate, and client
// certificates required and verified against the root.
func (s *Server) TLSConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(s.CA.Dir, "manager.crt"), filepath.Join(s.CA.Dir, "manager.key"))
	if err != nil {
		return nil, fmt.Errorf("loading the manager's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.CA.Root())
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

// Handler is the API. It accepts only node certificates: those signed
// directly by the root for client authentication, without an agent
// identity.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sign", s.sign)
	mux.HandleFunc("POST /v1/hub", s.hub)
	mux.HandleFunc("POST /v1/revoke", s.revoke)
	mux.HandleFunc("GET /v1/revoked", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.CA.RevokedList()
		s.reply(w, r, list, err)
	})
	mux.HandleFunc("GET /v1/issued", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.CA.IssuedList()
		s.reply(w, r, list, err)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) != 2 {
			s.Logger.WarnContext(r.Context(), "agent manager: refused a client that is not a serve node", slog.String("remote", r.RemoteAddr))
			http.Error(w, "a serve node's certificate is required", http.StatusForbidden)
			return
		}
		if _, err := CertIdentity(r.TLS.VerifiedChains[0][0]); !errors.Is(err, ErrNoIdentity) {
			s.Logger.WarnContext(r.Context(), "agent manager: refused an agent certificate on the node API", slog.String("remote", r.RemoteAddr))
			http.Error(w, "a serve node's certificate is required", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		mux.ServeHTTP(w, r)
	})
}

// Serve runs the API on addr until ctx ends.
func (s *Server) Serve(ctx context.Context, addr string, ready func(addr string)) error {
	conf, err := s.TLSConfig()
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", addr, conf)
	if err != nil {
		return fmt.Errorf("agent manager listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)}
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

// ParseCSR parses and checks a PEM certificate request.
func ParseCSR(text string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr: no PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr: signature: %w", err)
	}
	return csr, nil
}

type badRequest struct{ error }

func (s *Server) sign(w http.ResponseWriter, r *http.Request) {
	var req SignRequest
	if err := decode(r, &req); err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	kind := req.Kind
	if kind == "" {
		kind = KindAgent
	}
	signed, err := s.CA.SignAgent(Identity{Kind: kind, Site: req.Site, Name: req.Name}, csr.PublicKey, time.Duration(req.Lifetime)*time.Second)
	if err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	s.Logger.InfoContext(r.Context(), "signed an agent certificate", slog.String("site", req.Site), slog.String("kind", kind),
		slog.String("name", req.Name), slog.String("serial", signed.Serial), slog.Time("not_after", signed.NotAfter))
	s.reply(w, r, signed, nil)
}

func (s *Server) hub(w http.ResponseWriter, r *http.Request) {
	var req HubRequest
	if err := decode(r, &req); err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	signed, err := s.CA.SignHub(csr.PublicKey, req.Names)
	if err != nil {
		err = badRequest{err}
	}
	s.reply(w, r, signed, err)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	var req RevokeRequest
	if err := decode(r, &req); err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	got, err := s.CA.Revoke(req.Site, req.Serial, req.Host)
	if err != nil {
		s.reply(w, r, nil, badRequest{err})
		return
	}
	s.Logger.InfoContext(r.Context(), "revoked agent certificates", slog.String("site", req.Site), slog.Any("serials", got))
	s.reply(w, r, RevokeAnswer{Revoked: got}, nil)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		code := http.StatusInternalServerError
		var br badRequest
		if errors.As(err, &br) {
			code = http.StatusBadRequest
		} else {
			s.Logger.ErrorContext(r.Context(), "agent manager request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Client is a serve node's side of the API.
type Client struct {
	// Addr is the manager's host:port.
	Addr string
	HTTP *http.Client
}

// NewClient builds a client from a node credentials directory (node.crt,
// node.key, ca.crt: the manager's DIR/node copied to the serve node).
func NewClient(addr, credDir string) (*Client, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(credDir, "node.crt"), filepath.Join(credDir, "node.key"))
	if err != nil {
		return nil, fmt.Errorf("agent manager credentials in %s (copy the manager's DIR/node there): %w", credDir, err)
	}
	root, err := readFileCert(filepath.Join(credDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("agent manager credentials in %s: %w", credDir, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	tr := &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &Client{Addr: addr, HTTP: &http.Client{Transport: tr, Timeout: 15 * time.Second}}, nil
}

func readFileCert(path string) (*x509.Certificate, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytesReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+c.Addr+path, body)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("agent manager %s: %w", c.Addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("agent manager %s%s: %s: %s", c.Addr, path, resp.Status, trimSpace(msg))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// Sign asks for an agent or template certificate.
func (c *Client) Sign(ctx context.Context, req SignRequest) (*Signed, error) {
	var s Signed
	return &s, c.do(ctx, http.MethodPost, "/v1/sign", req, &s)
}

// SignHub asks for a hub's server certificate.
func (c *Client) SignHub(ctx context.Context, req HubRequest) (*Signed, error) {
	var s Signed
	return &s, c.do(ctx, http.MethodPost, "/v1/hub", req, &s)
}

// Revoke revokes certificates.
func (c *Client) Revoke(ctx context.Context, req RevokeRequest) ([]string, error) {
	var a RevokeAnswer
	err := c.do(ctx, http.MethodPost, "/v1/revoke", req, &a)
	return a.Revoked, err
}

// Revoked fetches the revocation list.
func (c *Client) Revoked(ctx context.Context) ([]Revoked, error) {
	var l []Revoked
	return l, c.do(ctx, http.MethodGet, "/v1/revoked", nil, &l)
}

// Issued fetches the certificates issued.
func (c *Client) Issued(ctx context.Context) ([]Issued, error) {
	var l []Issued
	return l, c.do(ctx, http.MethodGet, "/v1/issued", nil, &l)
}
