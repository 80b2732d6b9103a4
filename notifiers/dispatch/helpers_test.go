package dispatch

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"mime"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rig is one test's pipeline: database, site, processor with the Sink,
// and a running Dispatcher.
type rig struct {
	t      *testing.T
	db     *pgtest.DB
	site   uuid.UUID
	d      *Dispatcher
	proc   *jobs.Processor
	ins    *river.Client[pgx.Tx]
	sealer *store.Sealer
	cfgs   *store.Configs
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("DISPATCH_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newRig creates a site with the configuration xml and starts the notifier.
// tune adjusts the Dispatcher before it starts.
func newRig(t *testing.T, xml string, tune func(d *Dispatcher)) *rig {
	t.Helper()
	ctx := t.Context()
	db := pgtest.New(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := store.NewSealer(key)
	must(t, err)
	r := &rig{t: t, db: db, sealer: sealer}
	var site *tenants.Site
	must(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		site, err = tenants.CreateSite(ctx, tx, "acme", "Acme")
		return err
	}))
	r.site = site.ID
	r.d = &Dispatcher{Pool: db.Pool, Logger: testLogger(t), Sealer: sealer, BaseURL: "http://bergamot.test",
		AckKey: []byte("test ack key"), SweepEvery: 100 * time.Millisecond, Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		MaxAttempts: 3, SendTimeout: 10 * time.Second}
	if tune != nil {
		tune(r.d)
	}
	r.cfgs = &store.Configs{Sealer: sealer, Validators: []store.Validator{r.channels().Validate}}
	r.apply(xml)
	r.ins, err = riverclient.NewInsertClient(db.Pool, testLogger(t))
	must(t, err)
	r.proc = &jobs.Processor{Pool: db.Pool, Logger: testLogger(t), Sinks: []jobs.EventSink{&Sink{River: r.ins}}}
	// Escalations are raised by the serve nodes' sweep, as in newApp.
	esc := &jobs.EscalationSweep{Pool: db.Pool, Logger: testLogger(t), Sinks: r.proc.Sinks, Every: r.d.SweepEvery}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- r.d.Run(rctx) }()
	go func() { done <- esc.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Logf("dispatcher stopped: %v", err)
			}
		}
	})
	return r
}

func (r *rig) channels() *Channels {
	if r.d.Channels == nil {
		r.d.Channels = DefaultChannels(nil)
	}
	return r.d.Channels
}

func (r *rig) ctx() context.Context { return tenants.WithSite(r.t.Context(), r.site) }

func (r *rig) inSite(fn func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	must(r.t, tenants.InSite(r.ctx(), r.db.Pool, fn))
}

// apply applies xml and fails the test on configuration errors.
func (r *rig) apply(xml string) {
	r.t.Helper()
	res := r.tryApply(xml, false)
	if !res.OK {
		r.t.Fatalf("configuration rejected: %v", res.Errors)
	}
}

func (r *rig) tryApply(xml string, dry bool) *store.ApplyResult {
	r.t.Helper()
	doc, err := config.Parse("test.xml", strings.NewReader(xml))
	must(r.t, err)
	var res *store.ApplyResult
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		res, err = r.cfgs.Apply(ctx, tx, doc, "test", "test.xml", dry)
		return err
	})
	return res
}

// checkID finds a check by name (service name, or host name for a host).
func (r *rig) checkID(kind, name string) string {
	r.t.Helper()
	var id uuid.UUID
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM checks WHERE kind = $1 AND name = $2`, kind, name).Scan(&id)
	})
	return id.String()
}

// submit records results as a worker would and processes them.
func (r *rig) submit(status checks.Status, ids ...string) {
	r.t.Helper()
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		for _, id := range ids {
			if err := store.SubmitResult(ctx, tx, id, status, fmt.Sprintf("%s - test output", status), "test"); err != nil {
				return err
			}
		}
		return nil
	})
	for {
		n, err := r.proc.RunOnce(r.t.Context())
		must(r.t, err)
		if n == 0 {
			return
		}
	}
}

// idle waits until no notification job is waiting or running.
func (r *rig) idle() {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		must(r.t, r.db.Pool.QueryRow(r.t.Context(), `SELECT count(*) FROM river_job WHERE queue = $1
			AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`, Queue).Scan(&n))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d notification jobs still pending", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logRows returns "recipient channel kind result" for every log row.
func (r *rig) logRows() []string {
	r.t.Helper()
	var out []string
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT recipient, channel, kind, result, error FROM notification_log ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var rc, ch, k, res, e string
			if err := rows.Scan(&rc, &ch, &k, &res, &e); err != nil {
				return err
			}
			line := rc + " " + ch + " " + k + " " + res
			if e != "" {
				line += ": " + e
			}
			out = append(out, line)
		}
		return rows.Err()
	})
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func subject(m *mailtest.Message) string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// to returns the messages to addr with subjects containing sub.
func to(addr, sub string) func(*mailtest.Message) bool {
	return func(m *mailtest.Message) bool {
		return strings.Contains(m.Header.Get("To"), addr) && strings.Contains(subject(m), sub)
	}
}

// siteXML is the scenario site: SMTP through the private exim, teams,
// contacts and a host with a service that escalates after escalateAfter.
func siteXML(ex *mailtest.Exim, body string) string {
	return fmt.Sprintf(`<bergamot site="acme">
	<parameter name="smtp.host">127.0.0.1</parameter>
	<parameter name="smtp.port">%d</parameter>
	<parameter name="smtp.from">Bergamot &lt;alerts@bergamot.example&gt;</parameter>
	<parameter name="smtp.credential">smtp</parameter>
	<credential name="smtp"><username>%s</username><password>%s</password></credential>
	<credential name="wrong-smtp"><username>%s</username><password>not-the-password</password></credential>
	<time-period name="always">
		<time-range>monday 00:00-24:00</time-range><time-range>tuesday 00:00-24:00</time-range>
		<time-range>wednesday 00:00-24:00</time-range><time-range>thursday 00:00-24:00</time-range>
		<time-range>friday 00:00-24:00</time-range><time-range>saturday 00:00-24:00</time-range>
		<time-range>sunday 00:00-24:00</time-range>
	</time-period>
	<time-period name="never" excludes="always"/>
	<team name="ops"/>
	<team name="managers"/>
	<contact name="alice" teams="ops"><email>alice@bergamot.test</email></contact>
	<contact name="bob" teams="ops"><email>bob@bergamot.test</email><notifications time-period="never"/></contact>
	<contact name="carol"><email>carol@bergamot.test</email><notifications time-period="always"/></contact>
	<contact name="boss" teams="managers"><email>boss@bergamot.test</email></contact>
	%s
</bergamot>`, ex.Port, mailtest.Username, mailtest.Password, mailtest.Username, body)
}
