package dispatch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/ircdtest"
	"github.com/bergamot-monitoring/bergamot/notifiers/slack"
	"github.com/bergamot-monitoring/bergamot/notifiers/webhook"
)

// Values the receivers below check.
const (
	hookSecret = "webhook-signing-secret"
	twilioSID  = "AC0123456789abcdef0123456789abcdef"
	twilioTok  = "twilio-auth-token"
	twilioFrom = "+15550001111"
	davePhone  = "+15557654321"
	ircChannel = "#ops"
)

// received collects what one fake receiver accepted (or why it refused),
// safe for the server's goroutines.
type received struct {
	mu   sync.Mutex
	got  []string // one short description per accepted request
	errs []string // what was wrong with a request
}

func (r *received) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
}

func (r *received) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *received) snapshot() (got, errs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got), slices.Clone(r.errs)
}

// count returns how many accepted requests contain sub.
func (r *received) count(sub string) int {
	got, _ := r.snapshot()
	n := 0
	for _, g := range got {
		if strings.Contains(g, sub) {
			n++
		}
	}
	return n
}

// waitFor polls until r holds want requests containing sub.
func (r *received) waitFor(t *testing.T, name string, want int, sub string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.count(sub) < want {
		if time.Now().After(deadline) {
			got, errs := r.snapshot()
			t.Fatalf("%s: %d requests containing %q, want %d\ngot: %q\nrefused: %q", name, r.count(sub), sub, want, got, errs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// webhookReceiver verifies each POST as a real receiver would (signature,
// timestamp, payload version) and records "type status check/host".
func webhookReceiver(t *testing.T) (*httptest.Server, *received) {
	rec := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ts, sig := req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature)
		if err := webhook.VerifySignature(hookSecret, ts, sig, body, time.Now(), 5*time.Minute); err != nil {
			rec.fail("signature %q at %q: %v", sig, ts, err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.Version != 1 {
			rec.fail("payload (version %d): %v: %s", p.Version, err, body)
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		if req.Header.Get("Idempotency-Key") == "" || req.Header.Get("Idempotency-Key") != p.IdempotencyKey {
			rec.fail("Idempotency-Key header %q, payload %q", req.Header.Get("Idempotency-Key"), p.IdempotencyKey)
		}
		rec.add(fmt.Sprintf("%s %s %s/%s/%s prev=%s", p.Type, p.Status, p.Check.Kind, p.Check.Host, p.Check.Name, p.PreviousStatus))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// slackReceiver accepts incoming-webhook messages and records
// "header | fields" after checking the block layout.
func slackReceiver(t *testing.T) (*httptest.Server, *received) {
	rec := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m slack.Message
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			rec.fail("decoding: %v", err)
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		var types []string
		for _, b := range m.Blocks {
			types = append(types, b.Type)
		}
		if len(m.Blocks) < 3 || m.Blocks[0].Type != "header" || m.Blocks[0].Text == nil || m.Blocks[1].Type != "section" {
			rec.fail("block layout %v", types)
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
		var fields []string
		for _, f := range m.Blocks[1].Fields {
			fields = append(fields, strings.ReplaceAll(f.Text, "\n", " "))
		}
		buttons := ""
		for _, b := range m.Blocks {
			if b.Type == "actions" {
				for _, e := range b.Elements {
					buttons += " button=" + e.URL
				}
			}
		}
		rec.add(fmt.Sprintf("%s | %s | blocks=%s%s", m.Blocks[0].Text.Text, strings.Join(fields, "; "), strings.Join(types, ","), buttons))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// twilioServer speaks the shape of Twilio's Messages API: basic auth with
// the account SID and token, a form with To, From and Body, and a 201 with
// the message resource (or a Twilio error document).
func twilioServer(t *testing.T) (*httptest.Server, *received) {
	rec := &received{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if want := "/2010-04-01/Accounts/" + twilioSID + "/Messages.json"; req.Method != http.MethodPost || req.URL.Path != want {
			rec.fail("%s %s, want POST %s", req.Method, req.URL.Path, want)
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code": 20404, "message": "The requested resource was not found", "status": 404}`)
			return
		}
		if u, p, ok := req.BasicAuth(); !ok || u != twilioSID || p != twilioTok {
			rec.fail("basic auth %q/%q", u, p)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code": 20003, "message": "Authenticate", "status": 401}`)
			return
		}
		if err := req.ParseForm(); err != nil {
			rec.fail("form: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		to, from, body := req.PostForm.Get("To"), req.PostForm.Get("From"), req.PostForm.Get("Body")
		if to != davePhone || from != twilioFrom || body == "" || utf8.RuneCountInString(body) > 160 {
			rec.fail("To=%q From=%q Body(%d)=%q", to, from, utf8.RuneCountInString(body), body)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}`)
			return
		}
		rec.add(body)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": "SM0123456789abcdef0123456789abcdef", "account_sid": twilioSID,
			"to": to, "from": from, "body": body, "status": "queued", "num_segments": "1"})
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// ircWatcher joins channel as a second, independent client and records
// every PRIVMSG to it as "nick> text".
func ircWatcher(t *testing.T, addr, channel string) *received {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	must(t, err)
	t.Cleanup(func() { nc.Close() })
	rec := &received{}
	_, err = fmt.Fprintf(nc, "NICK watcher\r\nUSER watcher 0 * :Watcher\r\n")
	must(t, err)
	joined := make(chan struct{})
	go func() {
		r := bufio.NewReader(nc)
		for {
			raw, err := r.ReadString('\n')
			if err != nil {
				return
			}
			prefix, cmd, params, trailing := splitIRC(strings.TrimRight(raw, "\r\n"))
			switch cmd {
			case "PING":
				fmt.Fprintf(nc, "PONG :%s\r\n", trailing)
			case "001":
				fmt.Fprintf(nc, "JOIN %s\r\n", channel)
			case "366": // end of NAMES: joined
				close(joined)
			case "PRIVMSG":
				if len(params) > 0 && params[0] == channel {
					nick, _, _ := strings.Cut(prefix, "!")
					rec.add(nick + "> " + trailing)
				}
			}
		}
	}()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("IRC watcher could not join " + channel)
	}
	return rec
}

// splitIRC splits ":prefix COMMAND p1 p2 :trailing".
func splitIRC(s string) (prefix, cmd string, params []string, trailing string) {
	if strings.HasPrefix(s, ":") {
		prefix, s, _ = strings.Cut(s[1:], " ")
	}
	s, trailing, _ = strings.Cut(s, " :")
	f := strings.Fields(s)
	if len(f) == 0 {
		return prefix, "", nil, trailing
	}
	return prefix, f[0], f[1:], trailing
}

// TestEveryChannelAlertAndRecovery sends one problem and its recovery
// through the whole pipeline to a contact reachable on webhook, Slack, SMS
// and IRC, each with a real receiver on loopback: each channel gets exactly
// one alert and one recovery.
func TestEveryChannelAlertAndRecovery(t *testing.T) {
	ircAddr := ircdtest.Start(t, nil).Addr
	watcher := ircWatcher(t, ircAddr, ircChannel)
	hook, hooks := webhookReceiver(t)
	sl, slacks := slackReceiver(t)
	tw, texts := twilioServer(t)

	r := newRig(t, fmt.Sprintf(`<bergamot site="acme">
	<parameter name="sms.credential">twilio</parameter>
	<parameter name="sms.from">%s</parameter>
	<parameter name="sms.base-url">%s</parameter>
	<parameter name="irc.server">%s</parameter>
	<parameter name="irc.channel">%s</parameter>
	<parameter name="irc.bot-nick">bergabot</parameter>
	<credential name="twilio"><username>%s</username><password>%s</password></credential>
	<credential name="hook-secret"><password>%s</password></credential>
	<credential name="slack-hook"><password>%s/services/T000/B000/XXXX</password></credential>
	<contact name="dave">
		<mobile>%s</mobile>
		<parameter name="webhook.url">%s/bergamot</parameter>
		<parameter name="webhook.secret">credential:hook-secret</parameter>
		<parameter name="slack.webhook">credential:slack-hook</parameter>
		<parameter name="irc.nick">dave</parameter>
	</contact>
	<host name="web1" address="10.0.0.1">
		<state failed-after="1" recovers-after="1"/>
		<service name="disk">
			<state failed-after="1" recovers-after="1"/>
			<notify contacts="dave"/>
		</service>
	</host>
</bergamot>`, twilioFrom, tw.URL, ircAddr, ircChannel, twilioSID, twilioTok, hookSecret, sl.URL, davePhone, hook.URL), nil)
	disk := r.checkID("service", "disk")

	r.submit(checks.StatusOK, disk)
	r.submit(checks.StatusCritical, disk)
	hooks.waitFor(t, "webhook", 1, "alert CRITICAL service/web1/disk prev=OK")
	slacks.waitFor(t, "slack", 1, "Problem: disk on web1 is CRITICAL | *Check* disk; *Status* CRITICAL; *Host* web1")
	texts.waitFor(t, "sms", 1, "Problem: disk on web1 CRITICAL")
	watcher.waitFor(t, "irc", 1, "bergabot> dave: [acme] Problem: disk on web1 is CRITICAL")
	if n := slacks.count("button=http://bergamot.test/#/check/" + disk + " button=http://bergamot.test/ack/a1."); n != 1 {
		got, _ := slacks.snapshot()
		t.Errorf("slack alert lacks the dashboard and acknowledge buttons: %q", got)
	}

	r.submit(checks.StatusOK, disk)
	hooks.waitFor(t, "webhook", 1, "recovery OK service/web1/disk prev=CRITICAL")
	slacks.waitFor(t, "slack", 1, "Recovered: disk on web1 is OK")
	texts.waitFor(t, "sms", 1, "Recovered: disk on web1 OK")
	watcher.waitFor(t, "irc", 1, "bergabot> dave: [acme] Recovered: disk on web1 is OK")
	r.idle()

	for _, c := range []struct {
		name string
		rec  *received
	}{{"webhook", hooks}, {"slack", slacks}, {"sms", texts}, {"irc", watcher}} {
		got, errs := c.rec.snapshot()
		if len(errs) > 0 {
			t.Errorf("%s receiver refused requests: %q", c.name, errs)
		}
		if len(got) != 2 || c.rec.count("Problem")+c.rec.count("alert ") != 1 || c.rec.count("Recovered")+c.rec.count("recovery ") != 1 {
			t.Errorf("%s received %d messages, want one alert and one recovery: %q", c.name, len(got), got)
		}
	}
	log := r.logRows()
	for _, ch := range []string{"webhook", "slack", "sms", "irc"} {
		for _, kind := range []string{"alert", "recovery"} {
			if want := "dave " + ch + " " + kind + " sent"; !slices.Contains(log, want) {
				t.Errorf("delivery log lacks %q:\n%s", want, strings.Join(log, "\n"))
			}
		}
	}
}
