package jobs

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

const trapXML = `<bergamot site="test">
	<command name="snmp-trap" engine="snmp" template="yes"/>
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
