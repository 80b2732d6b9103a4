package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const trapXML = `<bergamot site="test">
	<command name="snmp-trap" engine="snmp" template="yes"><parameter name="community">public</parameter></command>
	<command name="ups-battery" extends="snmp-trap" executor="generic">
		<parameter name="trap_oid">1.3.6.1.4.1.99999.0.1</parameter>
		<parameter name="clear_oid">1.3.6.1.4.1.99999.0.2</parameter>
		<parameter name="status">warning</parameter>
	</command>
	<command name="link" extends="snmp-trap" executor="link-state"/>
	<trap name="generic-trap" template="yes"><state failed-after="1" recovers-after="1"/><initially status="ok" output="OK"/></trap>
	<host name="ups1" address="127.0.0.1">
		<trap name="on-battery" extends="generic-trap"><check-command command="ups-battery"/></trap>
	</host>
	<host name="elsewhere" address="192.0.2.1">
		<trap name="on-battery" extends="generic-trap"><check-command command="ups-battery"/></trap>
	</host>
</bergamot>`

// snmptrap sends one trap with Debian's snmptrap (package snmp).
func snmptrap(t *testing.T, target string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("snmptrap")
	if err != nil {
		t.Skip("snmptrap not installed (apt-get install -y snmp)")
	}
	cmd := exec.Command(bin, append([]string{"-v", "2c", "-c", "public", target, ""}, args...)...)
	cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap %v: %v\n%s", args, err, out)
	}
}

func TestTrapReceiverSubmitsTrapResults(t *testing.T) {
	if _, err := exec.LookPath("snmptrap"); err != nil {
		t.Skip("snmptrap not installed (apt-get install -y snmp)")
	}
	p := newPipeline(t, parseXML(t, trapXML))
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ti := &TrapIngest{Pool: p.db.Pool, Logger: slog.New(slog.DiscardHandler)}
	go func() { done <- ti.Run(ctx, addr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// until waits for a check's status, sending the trap again meanwhile
	// (the receiver may still be binding).
	until := func(host, trap, status string, send func()) stateRow {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			send()
			time.Sleep(50 * time.Millisecond)
			p.process()
			if s := p.state("trap", trap, host); s.status == status {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("trap %s on %s is %+v, want %s", trap, host, p.state("trap", trap, host), status)
			}
		}
	}
	s := until("ups1", "on-battery", "WARNING", func() {
		snmptrap(t, addr, "1.3.6.1.4.1.99999.0.1", "1.3.6.1.4.1.99999.1", "i", "42")
	})
	if s.output != "trap 1.3.6.1.4.1.99999.0.1 from 127.0.0.1: 1.3.6.1.4.1.99999.1=42" || s.alerts != 1 {
		t.Fatalf("trap result %+v", s)
	}
	// Only the host the trap came from.
	p.expect("trap", "on-battery", "elsewhere", "OK", true, "OK")
	until("ups1", "on-battery", "OK", func() { snmptrap(t, addr, "1.3.6.1.4.1.99999.0.2") })

	// A trap check added later is picked up after the configuration
	// notification.
	p.apply(parseXML(t, `<bergamot site="test"><host name="ups1" address="127.0.0.1">
		<trap name="on-battery" extends="generic-trap"><check-command command="ups-battery"/></trap>
		<trap name="uplink" extends="generic-trap"><check-command command="link"><parameter name="interface-name">eth0</parameter></check-command></trap>
	</host></bergamot>`))
	s = until("ups1", "uplink", "CRITICAL", func() {
		snmptrap(t, addr, "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.2."+strconv.Itoa(2), "s", "eth0")
	})
	if s.output != "Interface eth0 is down" {
		t.Fatalf("link trap output %q", s.output)
	}
}

// siteTrapXML is a site with a trap check on 127.0.0.1 under community,
// and one on a host without an address.
// A community starting with "cred:" is kept in a credential, as the stock
// templates do (#{resolve_credentials('snmp_v2').password}).
func siteTrapXML(community string) string {
	cmd := `<command name="snmp-trap" engine="snmp" template="yes"><parameter name="community">` + community + `</parameter></command>`
	if c, ok := strings.CutPrefix(community, "cred:"); ok {
		cmd = `<credential name="snmp_v2"><password>` + c + `</password></credential>
	<command name="snmp-trap" engine="snmp" template="yes"><parameter name="snmp_community">#{resolve_credentials('snmp_v2').password}</parameter></command>`
	}
	return `<bergamot site="test">
	` + cmd + `
	<command name="ups-battery" extends="snmp-trap" executor="generic">
		<parameter name="trap_oid">1.3.6.1.4.1.99999.0.1</parameter>
		<parameter name="clear_oid">1.3.6.1.4.1.99999.0.2</parameter>
		<parameter name="status">critical</parameter>
	</command>
	<trap name="generic-trap" template="yes"><state failed-after="1" recovers-after="1"/><initially status="ok" output="OK"/></trap>
	<host name="ups1" address="127.0.0.1">
		<trap name="on-battery" extends="generic-trap"><check-command command="ups-battery"/></trap>
	</host>
	<host name="no-address">
		<trap name="on-battery" extends="generic-trap"><check-command command="ups-battery"/></trap>
	</host>
</bergamot>`
}

// Two sites watch the same address with their own communities (bravo's in
// a sealed credential): a trap
// counts only for the site whose community it carries, never for a host
// without an address, and a wrong community counts for no one.
func TestTrapsAuthenticatedPerSite(t *testing.T) {
	if _, err := exec.LookPath("snmptrap"); err != nil {
		t.Skip("snmptrap not installed (apt-get install -y snmp)")
	}
	a := newPipeline(t, parseXML(t, siteTrapXML("alpha-secret")))
	b := a.otherSite(parseXML(t, siteTrapXML("cred:bravo-secret")))
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ti := &TrapIngest{Pool: a.db.Pool, Sealer: a.cfgs.Sealer, Logger: slog.New(slog.DiscardHandler)}
	go func() { done <- ti.Run(ctx, addr) }()
	t.Cleanup(func() { cancel(); <-done })
	send := func(community string) {
		bin, _ := exec.LookPath("snmptrap")
		cmd := exec.Command(bin, "-v", "2c", "-c", community, addr, "", "1.3.6.1.4.1.99999.0.1")
		cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap: %v\n%s", err, out)
		}
	}
	// The right community for alpha (sent until the receiver is bound).
	deadline := time.Now().Add(10 * time.Second)
	for a.state("trap", "on-battery", "ups1").status != "CRITICAL" {
		if time.Now().After(deadline) {
			t.Fatal("alpha's trap with alpha's community never counted")
		}
		send("alpha-secret")
		time.Sleep(50 * time.Millisecond)
		a.process()
	}
	// A wrong community and bravo's checks: nothing more.
	send("public")
	send("guess")
	time.Sleep(300 * time.Millisecond)
	a.process()
	for _, s := range []struct {
		p    *pipeline
		host string
	}{{b, "ups1"}, {a, "no-address"}, {b, "no-address"}} {
		if st := s.p.state("trap", "on-battery", s.host); st.status != "OK" {
			t.Errorf("%s on-battery became %s from a trap not meant for it", s.host, st.status)
		}
	}
	// Bravo's community counts for bravo only.
	deadline = time.Now().Add(10 * time.Second)
	for b.state("trap", "on-battery", "ups1").status != "CRITICAL" {
		if time.Now().After(deadline) {
			t.Fatal("bravo's trap with bravo's community never counted")
		}
		send("bravo-secret")
		time.Sleep(50 * time.Millisecond)
		b.process()
	}
}

// Host names are resolved concurrently and cached: ten names that each
// take half a second resolve in about half a second, and a reload reuses them.
func TestTrapLoaderResolvesConcurrently(t *testing.T) {
	var hosts strings.Builder
	for i := range 10 {
		fmt.Fprintf(&hosts, `<host name="h%d" address="host%d.test"><trap name="t" extends="generic-trap"><check-command command="ups-battery"/></trap></host>`, i, i)
	}
	xml := strings.Replace(siteTrapXML("alpha-secret"), "</bergamot>", hosts.String()+"</bergamot>", 1)
	p := newPipeline(t, parseXML(t, xml))
	var lookups atomic.Int32
	ti := &TrapIngest{Pool: p.db.Pool, Logger: slog.New(slog.DiscardHandler),
		LookupIP: func(ctx context.Context, _, host string) ([]net.IP, error) {
			lookups.Add(1)
			select {
			case <-time.After(500 * time.Millisecond):
				return []net.IP{net.ParseIP("127.0.0.2")}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
	start := time.Now()
	if err := ti.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("loading 10 host names of 0.5 s each took %v; want them resolved concurrently", took)
	}
	if len(ti.rules) != 11 {
		t.Fatalf("%d rules, want 11 (ups1 and ten resolved hosts)", len(ti.rules))
	}
	if err := ti.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := lookups.Load(); n != 10 {
		t.Fatalf("%d lookups for 10 names loaded twice; want the cache to answer the second load", n)
	}
}

// otherSite returns a pipeline for a new site in p's database.
func (p *pipeline) otherSite(docs ...*config.Document) *pipeline {
	p.t.Helper()
	ctx := context.Background()
	var site *tenants.Site
	err := pgx.BeginFunc(ctx, p.db.Pool, func(tx pgx.Tx) error {
		var err error
		site, err = tenants.CreateSite(ctx, tx, "s"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		return err
	})
	if err != nil {
		p.t.Fatal(err)
	}
	q := *p
	q.site = site.ID
	for _, d := range docs {
		q.apply(d)
	}
	return &q
}
