// Package pluggable_test proves that a notification channel is one package
// plus one registration: the "pigeon" channel below is defined and
// registered here, in a test package, and nothing else in the code base
// names it, yet configuration validation (the production validator set),
// the dispatcher's fan-out and delivery, the delivery log and the
// test-notification API (what GraphQL's sendTestNotification calls) all
// serve it.
package pluggable_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/node"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The registration: the channel and its message templates.
func init() {
	notifiers.RegisterChannel("pigeon", func(notifiers.ChannelEnv) notifiers.Channel { return pigeonDef{} })
	notifiers.RegisterTemplates("pigeon", `{{define "default.body"}}{{.Check.Label}} is {{.Status}}: {{.Output}}{{end}}`)
}

// pigeonDef is a channel unknown to the code base: site parameters
// pigeon.roost (required), pigeon.speed (a number) and pigeon.token (a
// secret); a contact's address is its pigeon.loft parameter.
type pigeonDef struct{}

func (pigeonDef) Name() string                     { return "pigeon" }
func (pigeonDef) Prefix() string                   { return "pigeon." }
func (pigeonDef) Secrets() []string                { return []string{"pigeon.token"} }
func (pigeonDef) AddressParams() []string          { return []string{"pigeon.loft"} }
func (pigeonDef) Address(c *config.Contact) string { return c.Parameters["pigeon.loft"] }
func (pigeonDef) Reachable(to notifiers.Recipient, p notifiers.Params) bool {
	return p.Get("pigeon.roost") != "" && to.Address("pigeon") != ""
}

func (pigeonDef) Build(p notifiers.Params) (notifiers.Notifier, error) {
	if _, err := p.Int("pigeon.speed"); err != nil {
		return nil, err
	}
	if p.Get("pigeon.roost") == "" {
		return nil, fmt.Errorf("parameter pigeon.roost is required")
	}
	if _, ok := p["pigeon.loft"]; ok {
		return nil, fmt.Errorf("a contact's address reached the channel's build")
	}
	return &pigeon{roost: p.Get("pigeon.roost"), token: p["pigeon.token"]}, nil
}

// pigeon records what it carries in flights.
type pigeon struct{ roost, token string }

func (*pigeon) Name() string { return "pigeon" }

func (pg *pigeon) Send(_ context.Context, n *notifiers.Notification, to notifiers.Recipient) error {
	msg, err := notifiers.RenderWith(notifiers.DefaultTemplates(), "pigeon", n)
	if err != nil {
		return err
	}
	flights.add(fmt.Sprintf("%s->%s token=%s: %s", pg.roost, to.Address("pigeon"), pg.token, msg.Text))
	return nil
}

type log struct {
	mu  sync.Mutex
	got []string
}

func (l *log) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, s)
}

// wait returns the flights containing sub once there is one.
func (l *log) wait(t *testing.T, sub string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l.mu.Lock()
		var out []string
		for _, g := range l.got {
			if strings.Contains(g, sub) {
				out = append(out, g)
			}
		}
		all := append([]string(nil), l.got...)
		l.mu.Unlock()
		if len(out) > 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pigeon carried %q; flights: %q", sub, all)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var flights log

const site = `<bergamot site="acme">
	<parameter name="pigeon.roost">north-tower</parameter>
	%s
	<credential name="pigeon"><password>seed-42</password></credential>
	<contact name="alice"><parameter name="pigeon.loft">loft-7</parameter></contact>
	<host name="web1" address="10.0.0.1">
		<state failed-after="1" recovers-after="1"/>
		<notify contacts="alice"/>
		<service name="disk">
			<state failed-after="1" recovers-after="1"/>
			<notify contacts="alice"/>
		</service>
	</host>
</bergamot>`

func TestANewChannelNeedsNoOtherChange(t *testing.T) {
	ctx := t.Context()
	db := pgtest.New(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := store.NewSealer(key)
	must(t, err)
	var s *tenants.Site
	must(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		s, err = tenants.CreateSite(ctx, tx, "acme", "Acme")
		return err
	}))
	sctx := tenants.WithSite(ctx, s.ID)
	cfgs := &store.Configs{Sealer: sealer, Validators: node.Validators(0)}
	apply := func(params string) *store.ApplyResult {
		t.Helper()
		doc, err := config.Parse("acme.xml", strings.NewReader(fmt.Sprintf(site, params)))
		must(t, err)
		var res *store.ApplyResult
		must(t, tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			res, err = cfgs.Apply(ctx, tx, doc, "test", "acme.xml", false)
			return err
		}))
		return res
	}

	// The production validators check the new channel's parameters.
	for params, want := range map[string]string{
		`<parameter name="pigeon.token">credential:pigeon</parameter><parameter name="pigeon.speed">fast</parameter>`: `parameter pigeon.speed: "fast" is not a number`,
		`<parameter name="pigeon.token">seed-42</parameter>`:                                                          "parameter pigeon.token holds a secret in clear text",
	} {
		if res := apply(params); res.OK || !strings.Contains(fmt.Sprint(res.Errors), want) {
			t.Errorf("with %s: applied %v, errors %v; want an error containing %q", params, res.OK, res.Errors, want)
		}
	}
	if res := apply(`<parameter name="pigeon.token">credential:pigeon</parameter><parameter name="pigeon.speed">40</parameter>
		<parameter name="template.pigeon.alert.body">Pigeon post: {{.Output}}</parameter>`); !res.OK {
		t.Fatalf("valid pigeon settings rejected: %v", res.Errors)
	}

	// A problem reaches the contact by pigeon, in the site's template, through the real pipeline.
	ins, err := riverclient.NewInsertClient(db.Pool, nil)
	must(t, err)
	d := &dispatch.Dispatcher{Pool: db.Pool, Sealer: sealer, SweepEvery: 100 * time.Millisecond}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("dispatcher: %v", err)
		}
	})
	var disk uuid.UUID
	must(t, tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM checks WHERE kind = 'service' AND name = 'disk'`).Scan(&disk); err != nil {
			return err
		}
		return store.SubmitResult(ctx, tx, disk.String(), checks.StatusCritical, "DISK CRITICAL - 97% used", "test")
	}))
	proc := &jobs.Processor{Pool: db.Pool, Sinks: []jobs.EventSink{&dispatch.Sink{River: ins}}}
	for {
		n, err := proc.RunOnce(ctx)
		must(t, err)
		if n == 0 {
			break
		}
	}
	got := flights.wait(t, "DISK CRITICAL")
	if got[0] != "north-tower->loft-7 token=seed-42: Pigeon post: DISK CRITICAL - 97% used" {
		t.Errorf("the alert flew %q; want from north-tower to loft-7 with the credential's secret, in the site's template", got[0])
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var result string
		err := tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT recipient || ' ' || channel || ' ' || kind || ' ' || result FROM notification_log ORDER BY id LIMIT 1`).Scan(&result)
		})
		if err == nil && result == "alice pigeon alert sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log: %q, %v; want \"alice pigeon alert sent\"", result, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The test-notification API (GraphQL sendTestNotification) finds it too.
	must(t, d.SendTest(sctx, "alice", "pigeon"))
	flights.wait(t, "This is a test notification from Bergamot.")
	if err := d.SendTest(sctx, "alice", "owl"); err == nil || !strings.Contains(err.Error(), "pigeon") {
		t.Errorf("an unknown channel: %v; want an error listing the channels, pigeon among them", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
