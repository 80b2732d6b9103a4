// Package apitest starts a whole Bergamot API in-process for tests: a real
// PostgreSQL database (pgtest), the GraphQL handler, the REST facade, the
// live hub, the result processor and, optionally, a River worker with the
// dummy engine, all behind server.New on an httptest server. It mirrors
// cmd/bergamot's runServe wiring (both call node.New), so tests exercise
// what users run.
//
// Test binaries using it need pgtest's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/frontend"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/internal/node"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/server"
	"github.com/bergamot-monitoring/bergamot/statuspage"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Options change what Start runs.
type Options struct {
	// Worker runs a River worker with the dummy engine (for executeNow).
	Worker bool
	// PoolSize is the application pool's size (default 30).
	PoolSize int32
	// AllowedOrigins are passed to the GraphQL handler.
	AllowedOrigins []string
	// Tracer, when set, sees every statement of the application pool.
	Tracer pgx.QueryTracer
	// Stages, when set, is told when results pass the pipeline's stages
	// (processor, hub, subscriptions, WebSocket): the latency benchmark's
	// lattrace.Recorder.
	Stages lattrace.Tracer
	// StatusPages configures the public status pages (their TTL and rate
	// limit).
	StatusPages statuspage.Options
	// Dashboard serves the embedded web dashboard at / (browser tests).
	Dashboard bool
}

// Env is a running API.
type Env struct {
	DB       *pgtest.DB
	Pool     *pgxpool.Pool
	Resolver *graph.Resolver
	Hub      *live.Hub
	Server   *httptest.Server
	// URL is the server's base URL (http://127.0.0.1:port).
	URL    string
	Logger *slog.Logger
	// Links holds the account links the API mailed (the rig has no relay;
	// tenants' exim test covers the mail itself).
	Links *LinkBox
}

// DefaultSiteXML is what every new site starts with (like the real
// default-site.xml: a time period and a dummy command).
const DefaultSiteXML = `<bergamot site="default">
  <time-period name="24x7"><summary>Always</summary><time-range>monday 00:00-24:00</time-range></time-period>
  <command name="dummy-ok" engine="dummy"><summary>Always OK</summary><parameter name="status">OK</parameter><parameter name="output">OK</parameter></command>
</bergamot>`

// Start runs the API until the test ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	db := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	if o.PoolSize <= 0 {
		o.PoolSize = 30
	}
	pool, err := tenants.OpenPoolWith(ctx, db.OwnerURL, o.PoolSize, func(c *pgxpool.Config) {
		if o.Tracer != nil {
			c.ConnConfig.Tracer = o.Tracer
		}
	})
	if err != nil {
		cancel()
		t.Fatalf("apitest: %v", err)
	}
	level := slog.LevelWarn
	if os.Getenv("APITEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	rc, err := riverclient.NewInsertClient(pool, log)
	if err != nil {
		cancel()
		t.Fatalf("apitest: %v", err)
	}
	sealer, err := store.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		cancel()
		t.Fatalf("apitest: %v", err)
	}
	// Tests sign up many sites from 127.0.0.1: sign-up throttling is raised.
	// The rig queues its own results (no scheduler or watchdog) and sends no
	// notifications; sweeps and virtual checks are tested in jobs.
	ts := tenants.NewStoreWithLimits(pool, tenants.Limits{SignupsPerAddress: 10000, SignupsPerEmail: 10000})
	links := &LinkBox{}
	ts.SetLinkSender(links)
	ts.SetSiteRows(store.SiteRows{})
	n := node.New(ctx, node.Options{Pool: pool, Logger: log, River: rc, Sealer: sealer, Validators: node.Validators(0),
		Tenants: ts, Limits: tenants.NewSiteLimits(pool, nil), SiteInit: defaultSite,
		SignupOpen: true, StartWithin: 30 * time.Second, GraphQL: graph.HandlerOptions{AllowedOrigins: o.AllowedOrigins},
		ProcessOnly: true, NoSweeps: true, Stages: o.Stages, StatusPages: o.StatusPages})
	res, hub := n.Resolver, n.Hub
	so := server.Options{Pool: pool, Logger: log, Metrics: &server.Metrics{Pool: pool}, GraphQL: n.GraphQL, REST: n.REST, StatusPages: n.StatusPages,
		CSRF: &server.CSRF{Cookie: graph.SessionCookie, Token: tenants.CSRFToken, AllowedOrigins: o.AllowedOrigins, SessionValid: ts.SessionValid}}
	if o.Dashboard {
		so.Frontend = frontend.Handler()
	}
	handler := server.New(so)
	srv := httptest.NewServer(handler)
	loops := n.Loops()
	done := make(chan struct{}, len(loops))
	for _, f := range loops {
		go func() { _ = f(ctx); done <- struct{}{} }()
	}
	running := len(loops)
	var worker *river.Client[pgx.Tx]
	if o.Worker {
		reg := checks.NewRegistry()
		reg.Register(dummy.New(dummy.Options{Logger: log}))
		w := &jobs.ExecuteWorker{Pool: pool, Engines: reg, Sealer: sealer, WorkerID: "apitest-worker", Logger: log}
		worker, err = jobs.NewWorkerClient(pool, jobs.WorkerConfig{Zone: "default", Concurrency: 5, Worker: w, Logger: log})
		if err == nil {
			err = worker.Start(ctx)
		}
		if err != nil {
			cancel()
			t.Fatalf("apitest: worker: %v", err)
		}
	}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		if worker != nil {
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			_ = worker.Stop(sctx)
			c()
		}
		cancel()
		for range running {
			<-done
		}
		pool.Close()
	})
	e := &Env{DB: db, Pool: pool, Resolver: res, Hub: hub, Server: srv, URL: srv.URL, Logger: log, Links: links}
	return e
}

func defaultSite(cfgs *store.Configs) tenants.SiteInitializer {
	return func(ctx context.Context, tx pgx.Tx, s *tenants.Site) error {
		doc, err := config.Parse("default-site.xml", strings.NewReader(DefaultSiteXML))
		if err != nil {
			return err
		}
		res, err := cfgs.Apply(tenants.WithSite(ctx, s.ID), tx, doc, "signup", "default-site.xml", false)
		if err != nil {
			return err
		}
		if !res.OK {
			return res.Errors
		}
		return nil
	}
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Codes lists the errors' codes.
func (r *Response) Codes() []string {
	out := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		out[i] = e.Code()
	}
	return out
}

// Code is the first error's code, or "" without errors.
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Code()
}

// Decode unmarshals data into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

// Do posts a GraphQL request with token (may be empty) and returns the
// response, failing the test only when HTTP itself fails.
func (e *Env) Do(t testing.TB, token, query string, vars map[string]any) *Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, raw := e.HTTP(t, http.MethodPost, "/graphql", token, "application/json", body)
	out := &Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST /graphql: status %d, body not JSON: %.300s", resp.StatusCode, raw)
	}
	return out
}

// MustDo is Do that fails the test on any GraphQL error and decodes data into v (may be nil).
func (e *Env) MustDo(t testing.TB, token, query string, vars map[string]any, v any) {
	t.Helper()
	r := e.Do(t, token, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors for %s: %+v", oneLine(query), r.Errors)
	}
	if v != nil {
		r.Decode(t, v)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// HTTP makes a request with an optional bearer token and returns the
// response (body already read and closed) and its body.
func (e *Env) HTTP(t testing.TB, method, path, token, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, raw
}

// Eventually polls cond every 20 ms until it holds or d passes.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Site is a signed-up site with its admin's session token.
type Site struct {
	Name, ID, Email, Password, Token string
}

// SignUp creates a site through the signUp mutation.
func (e *Env) SignUp(t testing.TB, name string) *Site {
	t.Helper()
	s := &Site{Name: name, Email: "admin@" + name + ".example", Password: "Correct-Horse-9-battery"}
	var out struct {
		SignUp struct {
			Token string
			Site  struct{ ID string }
		}
	}
	e.MustDo(t, "", `mutation($in: SignUpInput!) { signUp(input: $in) { token site { id } } }`,
		map[string]any{"in": map[string]any{"siteName": name, "email": s.Email, "password": s.Password}}, &out)
	s.ID = out.SignUp.Site.ID
	// The site opens when its admin follows the emailed link.
	l := e.Links.Last(t, tenants.LinkVerify, s.Email)
	var v struct{ VerifyEmail struct{ Token string } }
	e.MustDo(t, "", `mutation($t: String!, $p: String!) { verifyEmail(token: $t, password: $p) { token } }`,
		map[string]any{"t": l.Token, "p": s.Password}, &v)
	s.Token = v.VerifyEmail.Token
	return s
}

// Invite invites email to the site of token with role and accepts the
// emailed link with password (which the invitee chooses); it returns the
// invited user's id.
func (e *Env) Invite(t testing.TB, token, email, password, role string) string {
	t.Helper()
	var out struct{ InviteUser struct{ ID string } }
	e.MustDo(t, token, `mutation($e: String!, $r: Role!) { inviteUser(email: $e, role: $r) { id } }`, map[string]any{"e": email, "r": role}, &out)
	l := e.Links.Last(t, tenants.LinkInvite, email)
	e.MustDo(t, "", `mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { token } }`,
		map[string]any{"t": l.Token, "p": password}, nil)
	return out.InviteUser.ID
}

// LinkBox is a tenants.LinkSender that keeps every link.
type LinkBox struct {
	mu    sync.Mutex
	links []tenants.Link
}

// SendLink keeps l.
func (b *LinkBox) SendLink(_ context.Context, l tenants.Link) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.links = append(b.links, l)
	return nil
}

// Last returns the newest link for purpose sent to email; it fails the
// test when there is none.
func (b *LinkBox) Last(t testing.TB, purpose tenants.LinkPurpose, email string) tenants.Link {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.links) - 1; i >= 0; i-- {
		if l := b.links[i]; l.Purpose == purpose && strings.EqualFold(l.To, email) {
			return l
		}
	}
	t.Fatalf("no %s link was sent to %s", purpose, email)
	return tenants.Link{}
}

// Apply applies config XML through applyConfig and fails on errors.
func (e *Env) Apply(t testing.TB, token, xml string) {
	t.Helper()
	var out struct {
		ApplyConfig struct {
			OK     bool `json:"ok"`
			Errors []struct {
				Message string
				Line    *int
			}
		}
	}
	e.MustDo(t, token, `mutation($x: String!) { applyConfig(xml: $x) { ok errors { message line } } }`, map[string]any{"x": xml}, &out)
	if !out.ApplyConfig.OK {
		t.Fatalf("applyConfig refused: %+v", out.ApplyConfig.Errors)
	}
}

// SiteXML is a small site: hosts web1 and web2 (dummy engine) with
// services http and disk, failing on the first bad result; a group,
// location, team and contact.
func SiteXML(site string) string {
	return fmt.Sprintf(`<bergamot site=%q>
  <group name="web"><summary>Web servers</summary></group>
  <location name="dc1"><summary>Data centre 1</summary></location>
  <team name="ops"><summary>Operations</summary></team>
  <contact name="alice" teams="ops"><summary>Alice</summary><email>alice@%s.example</email></contact>
  <command name="dummy-crit" engine="dummy"><summary>Always critical</summary><parameter name="status">CRITICAL</parameter><parameter name="output">broken on purpose</parameter></command>
  <host name="web1" address="192.0.2.1" groups="web" location="dc1">
    <summary>First web server</summary>
    <check-command command="dummy-ok"/>
    <schedule every="1h"/>
    <state failed-after="1" recovers-after="1"/>
    <notify teams="ops"/>
    <service name="http"><summary>HTTP</summary><check-command command="dummy-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/></service>
    <service name="disk"><summary>Disk</summary><check-command command="dummy-ok"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/></service>
  </host>
  <host name="web2" address="192.0.2.2" groups="web" location="dc1">
    <summary>Second web server</summary>
    <check-command command="dummy-ok"/>
    <schedule every="1h"/>
    <state failed-after="1" recovers-after="1"/>
    <service name="http"><summary>HTTP</summary><check-command command="dummy-ok"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/></service>
  </host>
</bergamot>`, site, site)
}

// CheckIDs maps "host" and "host/service" to check ids for the token's site.
func (e *Env) CheckIDs(t testing.TB, token string) map[string]string {
	t.Helper()
	var out struct {
		Hosts []struct {
			ID, Name string
			Services []struct{ ID, Name string }
		}
	}
	e.MustDo(t, token, `{ hosts { id name services { id name } } }`, nil, &out)
	ids := map[string]string{}
	for _, h := range out.Hosts {
		ids[h.Name] = h.ID
		for _, s := range h.Services {
			ids[h.Name+"/"+s.Name] = s.ID
		}
	}
	return ids
}

// Status returns a check's state status and hardness as the API shows them.
func (e *Env) Status(t testing.TB, token, id string) (status string, hard bool) {
	t.Helper()
	var out struct {
		Check *struct {
			State struct {
				Status string
				Hard   bool
			}
		}
	}
	e.MustDo(t, token, `query($id: ID!) { check(id: $id) { state { status hard } } }`, map[string]any{"id": id}, &out)
	if out.Check == nil {
		t.Fatalf("check %s not found", id)
	}
	return out.Check.State.Status, out.Check.State.Hard
}

// Submit posts a passive result with submitResult and waits until the
// processor has made it the check's state.
func (e *Env) Submit(t testing.TB, token, id, status, output string) {
	t.Helper()
	e.MustDo(t, token, `mutation($id: ID!, $s: Status!, $o: String!) { submitResult(checkId: $id, status: $s, output: $o) }`,
		map[string]any{"id": id, "s": status, "o": output}, nil)
	e.WaitStatus(t, token, id, status)
}

// WaitStatus waits until the check shows status.
func (e *Env) WaitStatus(t testing.TB, token, id, status string) {
	t.Helper()
	Eventually(t, 10*time.Second, "check "+id+" to become "+status, func() bool {
		s, _ := e.Status(t, token, id)
		return s == status
	})
}
