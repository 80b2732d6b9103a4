// Package hub is a serve node's side of the agent protocol: the TLS
// listener (BERGAMOT_AGENT_LISTEN, default :8443) with /agent for agents and
// /agent/enrol for enrolment, the connected agents by site and host, and a
// River client on the agent queues that runs each agent check on the
// host's agent (or forwards it to the node holding it, or reports it
// DISCONNECTED). See docs/agent.md.
package hub

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// Manager is what the hub asks of the agent manager.
type Manager interface {
	Sign(ctx context.Context, req manager.SignRequest) (*manager.Signed, error)
	Revoke(ctx context.Context, req manager.RevokeRequest) ([]string, error)
	Revoked(ctx context.Context) ([]manager.Revoked, error)
}

// SiteResolver maps the site a certificate names (an id, or a name the
// operator gave) to the site's id.
type SiteResolver func(ctx context.Context, ref string) (uuid.UUID, error)

// Hub is one serve node's agent hub.
type Hub struct {
	Pool    *pgxpool.Pool
	Logger  *slog.Logger
	Worker  *jobs.ExecuteWorker
	Node    string
	Manager Manager
	Verify  *Verifier
	Sites   SiteResolver
	// RevalidateEvery is how often the revocation list is fetched and
	// connections rechecked (default 2s).
	RevalidateEvery time.Duration
	// LiveFor is how long a connection row counts as live without a
	// refresh (default 30s; rows are refreshed every 10s).
	LiveFor time.Duration
	// ForwardPickup is how long a node may leave a check forwarded to it
	// unstarted before the forwarding node takes it back and routes it
	// again or reports it DISCONNECTED (default 6s).
	ForwardPickup time.Duration
	// Script runs the <script> of agent commands that have one (the stock
	// check-agent-metric-rate) over the reading's metrics; nil: a script
	// engine of the hub's own.
	Script *script.Engine
	// Register, when set, creates the host of a template certificate's
	// agent (auto-registration); nil refuses template certificates.
	Register func(ctx context.Context, site uuid.UUID, template string, hello *wire.Hello) error

	mu       sync.Mutex
	sessions map[agentKey]*session
	client   *river.Client[pgx.Tx]
	nextID   atomic.Uint64
	upgOnce  sync.Once
	upgrader *websocket.Upgrader
	scrOnce  sync.Once
}

type agentKey struct {
	site  uuid.UUID
	agent string
}

type session struct {
	id      uuid.UUID
	key     agentKey
	peer    *Peer
	hello   wire.Hello
	conn    *websocket.Conn
	send    chan []byte
	closed  chan struct{}
	once    sync.Once
	since   time.Time
	log     *slog.Logger
	mu      sync.Mutex
	pending map[uint64]chan *wire.Reading
}

// current is the certificate the connection speaks with: the one it
// presented, or the one the hub renewed for it since.
func (s *session) current() *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

func (s *session) close() { s.once.Do(func() { close(s.closed); _ = s.conn.Close() }) }

func (s *session) write(m *wire.Message) bool {
	b, err := wire.Encode(m)
	if err != nil {
		s.log.Error("encoding agent message", slog.Any("error", err))
		return false
	}
	select {
	case s.send <- b:
		return true
	case <-s.closed:
		return false
	}
}

// Handler serves /agent (agents, client certificate required) and
// /agent/enrol (an enrolment token and a certificate request for a
// certificate).
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/agent", h.serveAgent)
	mux.HandleFunc("POST /agent/enrol", h.enrol)
	return mux
}

// TLSConfig is the hub listener's: cert is the hub's server certificate
// (signed by the agent manager's root); client certificates are requested
// and verified by the handler, so a refusal is logged with its reason.
func (h *Hub) TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
}

// Serve runs the TLS listener on ln until ctx ends.
func (h *Hub) Serve(ctx context.Context, ln net.Listener, cert tls.Certificate) error {
	srv := &http.Server{Handler: h.Handler(), TLSConfig: h.TLSConfig(cert), ReadHeaderTimeout: 15 * time.Second,
		ErrorLog: slog.NewLogLogger(h.Logger.Handler(), slog.LevelDebug)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, code int, why error) {
	h.Logger.WarnContext(r.Context(), "agent refused", slog.String("remote", r.RemoteAddr), slog.String("reason", why.Error()))
	http.Error(w, why.Error(), code)
}

func (h *Hub) serveAgent(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		h.refuse(w, r, http.StatusForbidden, errors.New("not over TLS"))
		return
	}
	peer, err := h.Verify.Verify(r.TLS.PeerCertificates, time.Now())
	if err != nil {
		h.refuse(w, r, http.StatusForbidden, err)
		return
	}
	site, err := h.Sites(r.Context(), peer.Identity.Site)
	if err != nil {
		h.refuse(w, r, http.StatusForbidden, fmt.Errorf("certificate %s names site %q: %w", peer.Serial, peer.Identity.Site, err))
		return
	}
	h.upgOnce.Do(func() {
		// Small read buffers, and write buffers taken from a pool only
		// while a message is written: most agents are idle most of the time.
		h.upgrader = &websocket.Upgrader{ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10, WriteBufferPool: &sync.Pool{}}
	})
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(wire.MaxMessage)
	s := &session{id: uuid.New(), peer: peer, conn: conn, send: make(chan []byte, 64), closed: make(chan struct{}),
		since: time.Now(), pending: map[uint64]chan *wire.Reading{}}
	s.log = h.Logger.With(slog.String("site", site.String()), slog.String("connection", s.id.String()), slog.String("serial", peer.Serial))
	h.serve(context.WithoutCancel(r.Context()), s, site, r.RemoteAddr)
}

func (h *Hub) serve(ctx context.Context, s *session, site uuid.UUID, remote string) {
	defer s.close()
	fail := func(err error) {
		s.log.WarnContext(ctx, "agent refused", slog.String("reason", err.Error()))
		b, _ := wire.Encode(&wire.Message{Type: wire.TypeError, Error: err.Error()})
		_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = s.conn.WriteMessage(websocket.TextMessage, b)
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := s.conn.ReadMessage()
	if err != nil {
		return
	}
	m, err := wire.Decode(data)
	if err == nil && m.Type != wire.TypeHello {
		err = fmt.Errorf("first message is %s, want hello", m.Type)
	}
	if err != nil {
		fail(err)
		return
	}
	s.hello = *m.Hello
	agentID := s.peer.Identity.Name
	if s.peer.Identity.Kind == manager.KindTemplate {
		agentID = cmp.Or(s.hello.AgentID, s.hello.Host)
		if h.Register == nil {
			fail(errors.New("template certificates are not accepted by this hub"))
			return
		}
		if err := h.Register(ctx, site, s.peer.Identity.Name, &s.hello); err != nil {
			fail(fmt.Errorf("registering host %s from template %s: %w", agentID, s.peer.Identity.Name, err))
			return
		}
	}
	s.key = agentKey{site: site, agent: agentID}
	s.log = s.log.With(slog.String("agent", agentID), slog.String("host", s.hello.Host))
	expires := s.peer.NotAfter
	if err := store.RecordAgentConnect(ctx, h.Pool, site, &store.AgentConnection{ID: s.id, AgentID: agentID, HostName: s.hello.Host,
		Version: s.hello.Version, Node: h.Node, Serial: s.peer.Serial, CertExpires: &expires, Remote: remote}); err != nil {
		s.log.ErrorContext(ctx, "recording agent connection", slog.Any("error", err))
		fail(errors.New("internal error"))
		return
	}
	// A certificate issued with bergamot agent cert is in the site's list
	// from its first connection (enrolled and renewed ones are already).
	if err := store.RecordAgentCertificate(ctx, h.Pool, site, &store.AgentCertificate{Serial: s.peer.Serial, AgentID: s.peer.Identity.Name,
		Template: s.peer.Identity.Kind == manager.KindTemplate, NotAfter: s.peer.NotAfter}); err != nil {
		s.log.WarnContext(ctx, "recording the agent's certificate", slog.Any("error", err))
	}
	go h.writeLoop(s)
	s.write(&wire.Message{Type: wire.TypeWelcome, Welcome: &wire.Welcome{Site: site.String(), Host: agentID, Node: h.Node}})
	h.register(s)
	defer h.unregister(s)
	s.log.InfoContext(ctx, "agent connected", slog.String("version", s.hello.Version), slog.Int("capabilities", len(s.hello.Capabilities)))
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.log.InfoContext(ctx, "agent disconnected", slog.String("reason", err.Error()))
			return
		}
		m, err := wire.Decode(data)
		if err != nil {
			s.log.WarnContext(ctx, "bad message from agent", slog.Any("error", err))
			s.write(&wire.Message{Type: wire.TypeError, Error: err.Error()})
			return
		}
		switch m.Type {
		case wire.TypeReading:
			s.mu.Lock()
			ch := s.pending[m.Reading.ID]
			delete(s.pending, m.Reading.ID)
			s.mu.Unlock()
			if ch != nil {
				ch <- m.Reading
			}
		case wire.TypeRenew:
			go h.renew(ctx, s, site, m.Renew.CSR)
		case wire.TypePing:
			s.write(&wire.Message{Type: wire.TypePong})
		case wire.TypePong:
		default:
			s.log.WarnContext(ctx, "unexpected message from agent", slog.String("type", m.Type))
		}
	}
}

func (h *Hub) writeLoop(s *session) {
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	pingMsg, _ := wire.Encode(&wire.Message{Type: wire.TypePing})
	for {
		var b []byte
		select {
		case <-s.closed:
			return
		case b = <-s.send:
		case <-ping.C:
			b = pingMsg
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
			s.close()
			return
		}
	}
}

func (h *Hub) register(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions == nil {
		h.sessions = map[agentKey]*session{}
	}
	if old := h.sessions[s.key]; old != nil {
		old.log.Info("agent replaced by a newer connection of the same host")
		time.AfterFunc(100*time.Millisecond, old.close)
	}
	h.sessions[s.key] = s
}

func (h *Hub) unregister(s *session) {
	h.mu.Lock()
	if h.sessions[s.key] == s {
		delete(h.sessions, s.key)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := store.RecordAgentDisconnect(ctx, h.Pool, s.key.site, s.id); err != nil {
		s.log.WarnContext(ctx, "recording agent disconnect", slog.Any("error", err))
	}
}

// RunCheck runs req on the agent agentID of site when this node holds
// its connection; false when it does not.
func (h *Hub) RunCheck(ctx context.Context, site uuid.UUID, agentID string, req *checks.Request) (*checks.Result, bool) {
	s := h.local(site, agentID)
	if s == nil {
		return nil, false
	}
	return h.run(ctx, s, req), true
}

func (h *Hub) local(site uuid.UUID, agent string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[agentKey{site: site, agent: agent}]
}

func (h *Hub) all() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		out = append(out, s)
	}
	return out
}

// Connected counts this node's agent connections.
func (h *Hub) Connected() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// run sends one check to s and waits for its reading; a link that breaks
// first makes the check DISCONNECTED.
func (h *Hub) run(ctx context.Context, s *session, req *checks.Request) *checks.Result {
	id := h.nextID.Add(1)
	ch := make(chan *wire.Reading, 1)
	s.mu.Lock()
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	sent := time.Now()
	disconnected := func(why string) *checks.Result {
		return &checks.Result{Status: checks.StatusDisconnected, Started: sent, Runtime: time.Since(sent),
			Output: fmt.Sprintf("the agent of %s %s while running the check", s.key.agent, why)}
	}
	if !s.write(&wire.Message{Type: wire.TypeCheck, Check: &wire.Check{ID: id, Executor: req.Executor, Parameters: req.Parameters,
		CommandLine: req.CommandLine, Timeout: req.Timeout}}) {
		return disconnected("disconnected")
	}
	t := time.NewTimer(req.Timeout + 5*time.Second)
	defer t.Stop()
	select {
	case rd := <-ch:
		res := rd.Result
		if req.Script != "" {
			res = h.script(ctx, req, rd)
		}
		res.Worker = s.hello.Host
		return res
	case <-s.closed:
		return disconnected("disconnected")
	case <-t.C:
		return &checks.Result{Status: checks.StatusTimeout, Started: sent, Runtime: time.Since(sent),
			Output: fmt.Sprintf("the agent of %s did not answer within %s", s.key.agent, time.Since(sent).Round(time.Second))}
	case <-ctx.Done():
		return disconnected("was stopped")
	}
}

func (h *Hub) renew(ctx context.Context, s *session, site uuid.UUID, csr string) {
	old := s.current()
	id := old.Identity
	signed, err := h.Manager.Sign(ctx, manager.SignRequest{Kind: id.Kind, Site: id.Site, Name: id.Name, CSR: csr})
	if err != nil {
		s.log.WarnContext(ctx, "renewing agent certificate", slog.Any("error", err))
		return
	}
	_ = store.RecordAgentCertificate(ctx, h.Pool, site, &store.AgentCertificate{Serial: signed.Serial, AgentID: s.key.agent,
		Template: id.Kind == manager.KindTemplate, NotAfter: signed.NotAfter})
	// The connection now speaks with the new certificate: revoking it
	// closes the connection, and the old one's expiry no longer does.
	s.mu.Lock()
	s.peer = &Peer{Identity: id, Serial: signed.Serial, NotAfter: signed.NotAfter}
	s.mu.Unlock()
	if err := store.RenewAgentConnection(ctx, h.Pool, site, s.id, signed.Serial, signed.NotAfter); err != nil {
		s.log.WarnContext(ctx, "recording the renewed certificate on the connection", slog.Any("error", err))
	}
	s.log.InfoContext(ctx, "agent certificate renewed", slog.String("old_serial", old.Serial), slog.String("new_serial", signed.Serial),
		slog.Time("not_after", signed.NotAfter))
	s.write(&wire.Message{Type: wire.TypeRenewed, Renewed: &wire.Renewed{Cert: string(signed.Cert) + string(signed.Chain)}})
}

// EnrolRequest is the body of POST /agent/enrol.
type EnrolRequest struct {
	Token string `json:"token"`
	CSR   string `json:"csr"`
}

// enrol exchanges a one-time token and a certificate request for a
// certificate: the agent's key never leaves its host.
func (h *Hub) enrol(w http.ResponseWriter, r *http.Request) {
	var req EnrolRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := manager.ParseCSR(req.CSR); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e, err := store.UseAgentEnrolment(r.Context(), h.Pool, req.Token)
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, fmt.Errorf("enrolment: %w", err))
		return
	}
	kind := manager.KindAgent
	if e.Template {
		kind = manager.KindTemplate
	}
	signed, err := h.Manager.Sign(r.Context(), manager.SignRequest{Kind: kind, Site: e.Site.String(), Name: e.Host, CSR: req.CSR})
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "enrolment: signing", slog.Any("error", err))
		http.Error(w, "the agent manager could not sign the certificate; try again later", http.StatusBadGateway)
		return
	}
	if err := store.RecordAgentCertificate(r.Context(), h.Pool, e.Site, &store.AgentCertificate{Serial: signed.Serial, AgentID: e.Host,
		Template: e.Template, NotAfter: signed.NotAfter}); err != nil {
		h.Logger.WarnContext(r.Context(), "enrolment: recording the certificate", slog.Any("error", err))
	}
	h.Logger.InfoContext(r.Context(), "agent enrolled", slog.String("site", e.Site.String()), slog.String("host", e.Host), slog.String("serial", signed.Serial))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(signed)
}

// Start starts the hub's River client on the agent queues.
func (h *Hub) Start(ctx context.Context) error {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &router{hub: h}); err != nil {
		return err
	}
	c, err := river.NewClient(riverclient.NewDriver(h.Pool), &river.Config{
		Logger:  riverclient.Logger(h.Logger),
		Queues:  map[string]river.QueueConfig{jobs.AgentQueue: {MaxWorkers: 200}, jobs.AgentNodeQueue(h.Node): {MaxWorkers: 500}},
		Workers: workers, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 250 * time.Millisecond,
		JobTimeout: jobs.JobTimeout, RescueStuckJobsAfter: jobs.JobTimeout + time.Minute,
		CompletedJobRetentionPeriod: time.Minute, ReindexerIndexNames: riverclient.NoReindex,
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("starting the agent queues: %w", err)
	}
	h.mu.Lock()
	h.client = c
	h.mu.Unlock()
	return nil
}

// Run keeps the revocation list and the presence rows fresh until ctx
// ends, closing connections whose certificate was revoked; then it closes
// every connection and stops the River client.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(cmp.Or(h.RevalidateEvery, 2*time.Second))
	defer t.Stop()
	var lastErr time.Time
	for i := 0; ; i++ {
		if err := h.refreshRevoked(ctx); err != nil && ctx.Err() == nil && time.Since(lastErr) > time.Minute {
			lastErr = time.Now()
			h.Logger.WarnContext(ctx, "fetching the agent revocation list", slog.Any("error", err))
		}
		if i%5 == 0 {
			h.touch(ctx)
		}
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case <-t.C:
		}
	}
}

func (h *Hub) refreshRevoked(ctx context.Context) error {
	list, err := h.Manager.Revoked(ctx)
	if err != nil {
		return err
	}
	serials := make([]string, 0, len(list))
	for _, r := range list {
		serials = append(serials, r.Serial)
	}
	h.Verify.SetRevoked(serials)
	now := time.Now()
	for _, s := range h.all() {
		p := s.current()
		switch {
		case h.Verify.Revoked(p.Serial):
			s.log.InfoContext(ctx, "closing agent: its certificate was revoked", slog.String("serial", p.Serial))
			s.write(&wire.Message{Type: wire.TypeError, Error: "certificate " + p.Serial + " revoked"})
			time.AfterFunc(200*time.Millisecond, s.close)
		case now.After(p.NotAfter):
			s.log.InfoContext(ctx, "closing agent: its certificate expired", slog.String("serial", p.Serial), slog.Time("not_after", p.NotAfter))
			s.write(&wire.Message{Type: wire.TypeError, Error: fmt.Sprintf("certificate %s expired at %s; renew it (bergamot agent enrol) or issue a new one",
				p.Serial, p.NotAfter.UTC().Format(time.RFC3339))})
			time.AfterFunc(200*time.Millisecond, s.close)
		}
	}
	return nil
}

func (h *Hub) touch(ctx context.Context) {
	bySite := map[uuid.UUID][]uuid.UUID{}
	for _, s := range h.all() {
		bySite[s.key.site] = append(bySite[s.key.site], s.id)
	}
	for site, ids := range bySite {
		if err := store.TouchAgentConnections(ctx, h.Pool, site, ids); err != nil && ctx.Err() == nil {
			h.Logger.WarnContext(ctx, "refreshing agent connections", slog.Any("error", err))
		}
	}
}

func (h *Hub) shutdown() {
	for _, s := range h.all() {
		s.close()
	}
	h.mu.Lock()
	c := h.client
	h.client = nil
	h.mu.Unlock()
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	}
}

// RevokeSerial revokes the certificate serial of site (as the
// certificate names it) through the agent manager, and closes a
// connection holding it here at once.
func (h *Hub) RevokeSerial(ctx context.Context, site, serial string) ([]string, error) {
	got, err := h.Manager.Revoke(ctx, manager.RevokeRequest{Site: site, Serial: serial})
	if err != nil {
		return nil, err
	}
	_ = h.refreshRevoked(ctx)
	return got, nil
}

// RevokeHost revokes every certificate of the host of site (as the
// certificates name it: its id or its name) through the
// agent manager, and closes its connection here at once.
func (h *Hub) RevokeHost(ctx context.Context, site, host string) ([]string, error) {
	got, err := h.Manager.Revoke(ctx, manager.RevokeRequest{Site: site, Host: host})
	if err != nil {
		return nil, err
	}
	_ = h.refreshRevoked(ctx)
	return got, nil
}
