package dispatch

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/store"
)

// submitAt records a result a worker ran at `at` and processes it. The
// state machine takes its clock from the result, so a test can let
// half an hour pass without waiting for it.
func (r *rig) submitAt(status checks.Status, id string, at time.Time) {
	r.t.Helper()
	body, err := json.Marshal(checks.Result{Status: status, Output: status.String() + " - backup failed", Started: at, Worker: "test"})
	must(r.t, err)
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`, r.site, id, body)
		return err
	})
	for {
		n, err := r.proc.RunOnce(r.t.Context())
		must(r.t, err)
		if n == 0 {
			return
		}
	}
}

const backupHost = `
	<host name="db1" address="10.0.0.2">
		<service name="backup">
			<state failed-after="1" recovers-after="1"/>
			<notify contacts="carol"/>
			<notifications renotify-every="30m"/>
		</service>
	</host>`

// TestReminderThreadsAndStopsOnAcknowledgement: a lasting problem with
// renotify-every="30m" is mailed again after 30 minutes (check time),
// threaded under the first alert; the acknowledgement is mailed in the
// same thread and ends the reminders.
func TestReminderThreadsAndStopsOnAcknowledgement(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, backupHost), withExim(ex))
	backup := r.checkID("service", "backup")
	const problem = "[acme] Problem: backup on db1 is CRITICAL"
	t0 := time.Now()

	r.submitAt(checks.StatusCritical, backup, t0)
	alert := ex.WaitMessages(t, 1, 20*time.Second, to("carol@", problem))[0]
	var alertID uuid.UUID
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM alerts WHERE check_id = $1`, backup).Scan(&alertID)
	})
	thread := email.ThreadID(alertID.String(), "bergamot.example")
	if got := alert.Header.Get("Message-ID"); got != thread {
		t.Fatalf("alert Message-ID %q, want the thread id %q", got, thread)
	}

	// Still critical ten minutes later: too early for a reminder.
	r.submitAt(checks.StatusCritical, backup, t0.Add(10*time.Minute))
	r.idle()
	if n := len(ex.WaitMessages(t, 0, 0, to("carol@", problem))); n != 1 {
		t.Fatalf("%d problem mails after 10 minutes, want 1", n)
	}

	// 31 minutes in: a reminder, a new message in the alert's thread.
	r.submitAt(checks.StatusCritical, backup, t0.Add(31*time.Minute))
	mails := ex.WaitMessages(t, 2, 20*time.Second, to("carol@", problem))
	reminder := mails[0]
	if reminder.Header.Get("Message-ID") == thread {
		reminder = mails[1]
	}
	if id := reminder.Header.Get("Message-ID"); id == thread || id == "" {
		t.Errorf("reminder Message-ID %q must be its own", id)
	}
	for _, h := range []string{"In-Reply-To", "References"} {
		if got := reminder.Header.Get(h); got != thread {
			t.Errorf("reminder %s %q, want %q", h, got, thread)
		}
	}
	if got := reminder.Header.Get("X-Bergamot-Type"); got != "alert" {
		t.Errorf("reminder X-Bergamot-Type %q", got)
	}
	if !strings.Contains(reminder.Text, "backup failed") || !strings.Contains(reminder.Text, "/ack/a1.") {
		t.Errorf("reminder lacks the output or the acknowledge link:\n%s", reminder.Text)
	}

	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.Acknowledge(ctx, tx, backup, "carol", "restarting the backup", false)
		return err
	})
	ack := ex.WaitMessages(t, 1, 20*time.Second, to("carol@", "[acme] Acknowledged: backup on db1"))[0]
	if got := ack.Header.Get("In-Reply-To"); got != thread {
		t.Errorf("acknowledgement In-Reply-To %q, want %q", got, thread)
	}

	// Acknowledged: another hour of failures brings no reminder.
	r.submitAt(checks.StatusCritical, backup, t0.Add(62*time.Minute))
	r.submitAt(checks.StatusCritical, backup, t0.Add(93*time.Minute))
	r.idle()
	if n := len(ex.WaitMessages(t, 0, 0, to("carol@", problem))); n != 2 {
		t.Errorf("%d problem mails after the acknowledgement, want 2 (alert and one reminder)", n)
	}
	var alerts int
	for _, l := range r.logRows() {
		if strings.HasPrefix(l, "carol email alert ") {
			alerts++
			if l != "carol email alert sent" {
				t.Errorf("delivery log: %s", l)
			}
		}
	}
	if alerts != 2 {
		t.Errorf("%d alert deliveries in the log, want 2:\n%s", alerts, strings.Join(r.logRows(), "\n"))
	}
}
