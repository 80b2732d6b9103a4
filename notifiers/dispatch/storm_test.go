package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

var moreRE = regexp.MustCompile(`and (\d+) more problems`)

// TestStormIsSummarisedNotLostNorDoubled sends 1,000 alerts at once to one
// recipient: the first RateLimit go out one by one, the rest arrive in a
// digest; every alert is accounted for exactly once.
func TestStormIsSummarisedNotLostNorDoubled(t *testing.T) {
	ex := mailtest.Start(t)
	const n, limit = 1000, 10
	var svc strings.Builder
	for i := range n {
		fmt.Fprintf(&svc, `<service name="s%04d"><state failed-after="1"/><notify contacts="alice"/></service>`, i)
	}
	xml := siteXML(ex, `<host name="big" address="10.0.0.2">`+svc.String()+`</host>`)
	r := newRig(t, xml, func(d *Dispatcher) {
		withExim(ex)(d)
		d.RateLimit, d.RateWindow, d.Concurrency = limit, 3*time.Second, 30
	})
	var ids []string
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM checks WHERE kind = 'service'`)
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		for _, id := range got {
			ids = append(ids, id.String())
		}
		return err
	})
	if len(ids) != n {
		t.Fatalf("%d services, want %d", len(ids), n)
	}
	start := time.Now()
	r.submit(checks.StatusCritical, ids...)
	t.Logf("results processed in %s", time.Since(start).Round(time.Millisecond))

	// Wait until every alert is either sent alone or inside a delivered digest.
	// Generous: on a busy 2-core machine the last digest window can land
	// well after a minute; a lost alert never arrives at all.
	deadline := time.Now().Add(180 * time.Second)
	var single, covered int
	for {
		single, covered = 0, 0
		ids := map[string]bool{}
		for _, m := range ex.Messages(t) {
			id := m.Header.Get("Message-ID")
			if ids[id] {
				t.Fatalf("message %s delivered twice", id)
			}
			ids[id] = true
			covered++
			if mm := moreRE.FindStringSubmatch(m.Text); mm != nil {
				k, _ := strconv.Atoi(mm[1])
				covered += k
			} else {
				single++
			}
		}
		if covered >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.idle()
	t.Logf("%d alerts: %d single messages, %d covered, in %s", n, single, covered, time.Since(start).Round(time.Millisecond))
	if covered != n {
		t.Fatalf("messages cover %d alerts, want %d", covered, n)
	}
	if windows := int(time.Since(start)/(3*time.Second)) + 2; single > windows*limit {
		t.Errorf("%d single messages: the rate limit (%d per window) did not hold", single, limit)
	}
	var states map[string]int
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		states = map[string]int{}
		rows, err := tx.Query(ctx, `SELECT state, count(*) FROM notification_deliveries GROUP BY state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			var c int
			if err := rows.Scan(&s, &c); err != nil {
				return err
			}
			states[s] = c
		}
		return rows.Err()
	})
	if states[StateSent]+states[StateDigested] != n || len(states) > 2 {
		t.Errorf("delivery states %v, want %d sent or digested", states, n)
	}
}

// TestBadChannelConfiguration: mistakes are reported at validation, and a
// contact whose channel fails at delivery has it in the delivery log
// without holding up anyone else.
func TestBadChannelConfiguration(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, webHost), withExim(ex))

	bad := `<bergamot site="acme">
		<parameter name="smtp.port">not-a-port</parameter>
		<contact name="hook"><parameter name="webhook.url">ftp://example.com/x</parameter></contact>
		<contact name="leaky"><email>l@bergamot.test</email><parameter name="smtp.password">hunter2</parameter></contact>
		<contact name="ghost"><parameter name="webhook.url">https://hooks.example/x</parameter><parameter name="webhook.secret">credential:nope</parameter></contact>
	</bergamot>`
	res := r.tryApply(bad, true)
	msg := res.Errors.Error()
	for _, want := range []string{"smtp.port", `"not-a-port" is not a number`, `contact "hook"`, "must be http or https",
		`contact "leaky"`, "smtp.password holds a secret in clear text", `no credential named "nope"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("validation errors lack %q:\n%s", want, msg)
		}
	}

	// Delivery-time failures: wrong SMTP credentials (exim answers 535:
	// permanent), an SMTP port and a webhook where nothing listens
	// (transient, retried then given up), and a working contact.
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	r.apply(siteXML(ex, fmt.Sprintf(`
		<contact name="dave"><email>dave@bergamot.test</email><parameter name="smtp.credential">wrong-smtp</parameter></contact>
		<contact name="erin"><email>erin@bergamot.test</email><parameter name="smtp.port">%d</parameter></contact>
		<contact name="hook"><parameter name="webhook.url">%s/hook</parameter></contact>
		<host name="web1" address="10.0.0.1"><state failed-after="1"/>
			<service name="disk"><state failed-after="1"/><notify contacts="dave,erin,hook,alice"/></service>
		</host>`, mailtest.FreePort(t), refusedURL)))
	r.submit(checks.StatusCritical, r.checkID("service", "disk"))
	ex.WaitMessages(t, 1, 20*time.Second, to("alice@", "Problem: disk on web1"))
	r.idle()
	log := strings.Join(r.logRows(), "\n")
	for _, want := range []string{"alice email alert sent",
		`dave email alert failed: email: AUTH PLAIN as "bergamot": 535 "Incorrect authentication data"`,
		"erin email alert retry: email: connecting to 127.0.0.1:", "erin email alert failed: email: connecting to 127.0.0.1:",
		"hook webhook alert retry: ", "hook webhook alert failed: "} {
		if !strings.Contains(log, want) {
			t.Errorf("delivery log lacks %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "dave email alert"); n != 1 {
		t.Errorf("wrong credentials were tried %d times, want 1 (permanent):\n%s", n, log)
	}
	if strings.Contains(log, "s3cret") || strings.Contains(log, "not-the-password") {
		t.Errorf("delivery log shows a secret:\n%s", log)
	}
}

// TestAckLinkSingleUse acknowledges through a signed link: GET asks, POST
// acknowledges, a second POST is refused, a forged link is rejected.
func TestAckLinkSingleUse(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, webHost), withExim(ex))
	disk := r.checkID("service", "disk")
	r.submit(checks.StatusCritical, disk)
	var alert uuid.UUID
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM alerts WHERE check_id = $1`, disk).Scan(&alert)
	})
	srv := httptest.NewServer(r.d.AckHandler())
	defer srv.Close()
	token := notifiers.SignAck(r.d.AckKey, ackSubject(r.site, alert, "alice"), time.Now().Add(time.Hour))
	do := func(method, tok string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+"/ack/"+tok, nil)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			k, err := resp.Body.Read(buf)
			b.Write(buf[:k])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, body := do("GET", token); code != 200 || !strings.Contains(body, "<form method=\"post\">") {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := do("POST", token); code != 200 || !strings.Contains(body, "disk on web1 is acknowledged") {
		t.Fatalf("POST: %d %s", code, body)
	}
	var by string
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT COALESCE(acknowledged_by, '') FROM alerts WHERE id = $1`, alert).Scan(&by)
	})
	if by != "alice" {
		t.Errorf("acknowledged by %q, want alice", by)
	}
	if code, body := do("POST", token); code != http.StatusGone || !strings.Contains(body, "already used") {
		t.Errorf("second POST: %d %s", code, body)
	}
	forged := notifiers.SignAck([]byte("other key"), ackSubject(r.site, alert, "mallory"), time.Now().Add(time.Hour))
	if code, _ := do("POST", forged); code != http.StatusBadRequest {
		t.Errorf("forged link: %d, want 400", code)
	}
	expired := notifiers.SignAck(r.d.AckKey, ackSubject(r.site, alert, "alice"), time.Now().Add(-time.Minute))
	if code, _ := do("GET", expired); code != http.StatusGone {
		t.Errorf("expired link: %d, want 410", code)
	}
	// The acknowledgement made through the link is announced too.
	ex.WaitMessages(t, 1, 20*time.Second, to("carol@", "[acme] Acknowledged: disk on web1"))
}
