package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// onlyReader hides bytes.Reader's Len so the client sends the body chunked,
// without a Content-Length.
type onlyReader struct{ io.Reader }

// An anonymous 8 MB deeply nested configuration is refused before anything
// parses it, for a few milliseconds of CPU (it took 56 s of CPU and 1.6 GB
// before, or crashed the process with a stack overflow).
func TestAnonymousApplyConfigCostsNothing(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	// Just under the 8 MB body limit, as in the security review.
	n := (8<<20 - 200) / 7
	doc := "<bergamot>" + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "</bergamot>"
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"query": `mutation($x: String!) { applyConfig(xml: $x) { ok errors { message } } }`,
		"variables": map[string]any{"x": doc}}); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	for _, chunked := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(body)
		if chunked {
			r = onlyReader{r}
		}
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/graphql", r)
		req.Header.Set("Content-Type", "application/json")
		client := &http.Client{Timeout: 20 * time.Second}
		before, start := cpuTime(t), time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("chunked=%v: %v", chunked, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cpu, took := cpuTime(t)-before, time.Since(start)
		t.Logf("chunked=%v: %d in %v, %v CPU: %.200s", chunked, resp.StatusCode, took, cpu, raw)
		if bytes.Contains(raw, []byte(`"ok"`)) || !bytes.Contains(raw, []byte("larger than 65536 bytes")) && !bytes.Contains(raw, []byte("request body too large")) {
			t.Errorf("chunked=%v: anonymous 8 MB applyConfig not refused for its size: %d %.300s", chunked, resp.StatusCode, raw)
		}
		// The test process holds client and server: sending 8 MB over
		// loopback is part of this figure.
		if cpu > 100*time.Millisecond {
			t.Errorf("chunked=%v: refusing it cost %v of CPU, want well under 100ms", chunked, cpu)
		}
	}

	// A signed-in editor gets the parser's bound, quickly.
	n = 100_000 // JSON escapes < and > six-fold
	doc = "<bergamot>" + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "</bergamot>"
	before := cpuTime(t)
	r := e.Do(t, a.Token, `mutation($x: String!) { applyConfig(xml: $x) { ok errors { message } } }`, map[string]any{"x": doc})
	cpu := cpuTime(t) - before
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "nested too deep") {
		t.Fatalf("editor's nested document: %s %+v", r.Data, r.Errors)
	}
	t.Logf("editor's nested document refused for %v CPU", cpu)
}

// A site sees the shared (default) zone's workers and those of the zones its
// checks run in, never another site's private workers.
func TestWorkersConfinedToSiteZones(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	b := e.SignUp(t, "bravo")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	e.Apply(t, b.Token, apitest.SiteXML("bravo"))
	ctx := t.Context()
	owner, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	for _, q := range []string{
		`UPDATE check_schedule SET zone = 'alpha-dc' WHERE site_id = '` + a.ID + `'`,
		`UPDATE check_schedule SET zone = 'bravo-dc' WHERE site_id = '` + b.ID + `'`,
		`INSERT INTO workers (id, name, zone) VALUES (gen_random_uuid(), 'shared-1', 'default'),
			(gen_random_uuid(), 'alpha-box.internal', 'alpha-dc'), (gen_random_uuid(), 'bravo-box.internal', 'bravo-dc')`,
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(token string) string {
		var out struct{ Workers []struct{ Name string } }
		e.MustDo(t, token, `{ workers { name } }`, nil, &out)
		var names []string
		for _, w := range out.Workers {
			names = append(names, w.Name)
		}
		return strings.Join(names, ",")
	}
	if got := seen(a.Token); got != "alpha-box.internal,shared-1" {
		t.Errorf("alpha sees workers %q, want alpha-box.internal,shared-1", got)
	}
	if got := seen(b.Token); got != "bravo-box.internal,shared-1" {
		t.Errorf("bravo sees workers %q, want bravo-box.internal,shared-1", got)
	}
}

// connection_ack does not echo connection_init (it held the bearer token),
// and a WebSocket's subscriptions end within seconds of a logout, for a
// token in connection_init and for the session cookie alike.
func TestWebSocketEndsAtLogout(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(t, a.Token)
	const q = `subscription { checkUpdated { check { id } state { status output } } }`

	for _, how := range []string{"init", "cookie"} {
		t.Run(how, func(t *testing.T) {
			var login struct{ Login struct{ Token string } }
			e.MustDo(t, "", `mutation($e: String!, $p: String!) { login(site: "alpha", email: $e, password: $p) { token } }`,
				map[string]any{"e": a.Email, "p": a.Password}, &login)
			session := login.Login.Token
			var hdr http.Header
			init := map[string]any{"authorization": "Bearer " + session}
			if how == "cookie" {
				hdr, init = http.Header{"Cookie": {"bergamot_session=" + session}}, nil
			}
			w, _, err := e.DialWS(apitest.TransportWS, hdr)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ack, err := w.Init(init)
			if err != nil || ack.Type != "connection_ack" {
				t.Fatalf("init: %+v %v", ack, err)
			}
			if strings.Contains(string(ack.Payload), session) || strings.Contains(string(ack.Payload), "Bearer") {
				t.Errorf("connection_ack echoes the token: %s", ack.Payload)
			}
			if _, err := w.Subscribe(q, nil); err != nil {
				t.Fatal(err)
			}
			e.WaitSubscribers(t, a.ID, 1)
			e.MustDo(t, session, `mutation { logout }`, nil, nil)
			loggedOut := time.Now()
			// Results keep coming; the socket must close, not stream them.
			// (A read that times out leaves the connection unreadable, so
			// the results come from another goroutine and the reads wait
			// for the whole 15 seconds: a busy machine once made a 500 ms
			// read time out and the closing go unseen.)
			stop := make(chan struct{})
			done := make(chan struct{})
			defer func() { close(stop); <-done }()
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					case <-time.After(300 * time.Millisecond):
					}
					e.Do(t, a.Token, `mutation($id: ID!) { submitResult(checkId: $id, status: WARNING, output: "after logout") }`, map[string]any{"id": ids["web1/disk"]})
				}
			}()
			for time.Since(loggedOut) < 15*time.Second {
				m, err := w.Next(15*time.Second - time.Since(loggedOut))
				if err != nil && !apitest.IsTimeout(err) {
					t.Logf("closed %v after logout: %v", time.Since(loggedOut).Round(100*time.Millisecond), err)
					if took := time.Since(loggedOut); took > 8*time.Second {
						t.Errorf("closed after %v, want within seconds", took)
					}
					return
				}
				_ = m
			}
			t.Fatal("subscription still open 15 s after logout")
		})
	}
}
