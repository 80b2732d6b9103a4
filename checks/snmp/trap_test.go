package snmp

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// startReceiver serves traps on a free loopback port and returns the port
// and the channel traps arrive on.
func startReceiver(t *testing.T) (int, <-chan Trap) {
	t.Helper()
	port := freeUDPPort(t)
	got := make(chan Trap, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&TrapReceiver{}).Serve(ctx, "127.0.0.1:"+strconv.Itoa(port), func(_ context.Context, tr Trap) { got <- tr })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	time.Sleep(100 * time.Millisecond) // let the listener bind
	return port, got
}

func send(t *testing.T, tool string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install -y snmp)", tool)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func receive(t *testing.T, got <-chan Trap) Trap {
	t.Helper()
	select {
	case tr := <-got:
		return tr
	case <-time.After(5 * time.Second):
		t.Fatal("no trap received")
	}
	return Trap{}
}

func TestTrapsFromNetSNMP(t *testing.T) {
	port, got := startReceiver(t)
	target := "127.0.0.1:" + strconv.Itoa(port)
	rules := []TrapRule{
		{Name: "port-eth0", Host: net.ParseIP("127.0.0.1"), Executor: "link-state", Parameters: map[string]string{"interface-name": "eth0", "community": "public"}},
		{Name: "port-eth1", Host: net.ParseIP("127.0.0.1"), Executor: "link-state", Parameters: map[string]string{"interface-name": "eth1", "community": "public"}},
		{Name: "other-host", Host: net.ParseIP("192.0.2.1"), Executor: "link-state", Parameters: map[string]string{"interface-name": "eth0", "community": "public"}},
		{Name: "ups-on-battery", Host: net.ParseIP("127.0.0.1"), Executor: "generic", Parameters: map[string]string{"community": "public",
			"trap_oid": "1.3.6.1.4.1.99999.0.1", "clear_oid": "1.3.6.1.4.1.99999.0.2", "status": "warning"}},
	}

	t.Run("v2c linkDown", func(t *testing.T) {
		send(t, "snmptrap", "-v", "2c", "-c", "public", target, "", oidLinkDown, oidIfDescr+".2", "s", "eth0")
		tr := receive(t, got)
		if tr.Version != "2c" || tr.Community != "public" || tr.TrapOID != oidLinkDown || !tr.Source.Equal(net.ParseIP("127.0.0.1")) {
			t.Fatalf("trap %+v", tr)
		}
		if len(tr.Varbinds) != 1 || tr.Varbinds[0] != (Varbind{OID: oidIfDescr + ".2", Type: "OctetString", Value: "eth0"}) {
			t.Fatalf("varbinds %+v", tr.Varbinds)
		}
		if m := Match(tr, rules); len(m) != 1 || m[0] != "port-eth0" {
			t.Fatalf("matched %v", m)
		}
		res, _ := Evaluate(tr, rules[0])
		if res.Status != checks.StatusCritical || res.Output != "Interface eth0 is down" {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("v1 linkUp maps to the v2 OID", func(t *testing.T) {
		send(t, "snmptrap", "-v", "1", "-c", "public", target, "1.3.6.1.4.1.8072.3.2.10", "127.0.0.1", "3", "0", "", oidIfDescr+".2", "s", "eth0")
		tr := receive(t, got)
		if tr.Version != "1" || tr.TrapOID != oidLinkUp || tr.EnterpriseOID != "1.3.6.1.4.1.8072.3.2.10" {
			t.Fatalf("trap %+v", tr)
		}
		res, ok := Evaluate(tr, rules[0])
		if !ok || res.Status != checks.StatusOK {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("v2c inform, generic rule with status and clear", func(t *testing.T) {
		send(t, "snmpinform", "-v", "2c", "-c", "public", "-t", "2", "-r", "0", target, "", "1.3.6.1.4.1.99999.0.1", "1.3.6.1.4.1.99999.1", "i", "42")
		tr := receive(t, got)
		if !tr.Inform || tr.TrapOID != "1.3.6.1.4.1.99999.0.1" {
			t.Fatalf("trap %+v", tr)
		}
		if m := Match(tr, rules); len(m) != 1 || m[0] != "ups-on-battery" {
			t.Fatalf("matched %v", m)
		}
		res, _ := Evaluate(tr, rules[3])
		if res.Status != checks.StatusWarning || res.Output != "trap 1.3.6.1.4.1.99999.0.1 from 127.0.0.1: 1.3.6.1.4.1.99999.1=42" {
			t.Fatalf("result %+v", res)
		}
		send(t, "snmptrap", "-v", "2c", "-c", "public", target, "", "1.3.6.1.4.1.99999.0.2")
		if res, ok := Evaluate(receive(t, got), rules[3]); !ok || res.Status != checks.StatusOK {
			t.Fatalf("clear: %+v", res)
		}
	})
}

// Traps count only with the community the rule's site configured, match
// hosts by the datagram's source (a v1 agent-addr only where trusted), and
// a rule without a host address matches nothing.
func TestTrapMatchingIsAuthenticated(t *testing.T) {
	port, got := startReceiver(t)
	target := "127.0.0.1:" + strconv.Itoa(port)
	local, elsewhere := net.ParseIP("127.0.0.1"), net.ParseIP("192.0.2.1")
	link := func(name string, host net.IP, extra ...string) TrapRule {
		p := map[string]string{"interface-name": "eth0"}
		for i := 0; i+1 < len(extra); i += 2 {
			p[extra[i]] = extra[i+1]
		}
		return TrapRule{Name: name, Host: host, Executor: "link-state", Parameters: p}
	}
	rules := []TrapRule{
		link("alpha-local", local, "community", "alpha-secret"),
		link("bravo-local", local, "snmp_community", "bravo-secret"),
		link("bravo-elsewhere", elsewhere, "community", "bravo-secret"),
		link("no-host", nil, "community", "alpha-secret"),
		link("no-community", local),
		link("relayed", elsewhere, "community", "alpha-secret", TrustAgentAddrParam, "yes"),
	}
	match := func(tr Trap) string {
		m := Match(tr, rules)
		return strings.Join(m, ",")
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"wrong community", []string{"-v", "2c", "-c", "public", target, "", oidLinkDown, oidIfDescr + ".2", "s", "eth0"}, ""},
		{"alpha's community", []string{"-v", "2c", "-c", "alpha-secret", target, "", oidLinkDown, oidIfDescr + ".2", "s", "eth0"}, "alpha-local"},
		{"bravo's community", []string{"-v", "2c", "-c", "bravo-secret", target, "", oidLinkDown, oidIfDescr + ".2", "s", "eth0"}, "bravo-local"},
		// v1 with a spoofed agent-addr: still the sender's host, except for
		// the rule that trusts agent-addr.
		{"v1 spoofed agent-addr", []string{"-v", "1", "-c", "bravo-secret", target, "1.3.6.1.4.1.8072.3.2.10", "192.0.2.1", "2", "0", "", oidIfDescr + ".2", "s", "eth0"}, "bravo-local"},
		{"v1 relayed, trusted agent-addr", []string{"-v", "1", "-c", "alpha-secret", target, "1.3.6.1.4.1.8072.3.2.10", "192.0.2.1", "2", "0", "", oidIfDescr + ".2", "s", "eth0"}, "alpha-local,relayed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			send(t, "snmptrap", c.args...)
			tr := receive(t, got)
			if g := match(tr); g != c.want {
				t.Fatalf("trap %+v matched %q, want %q", tr, g, c.want)
			}
		})
	}
}
