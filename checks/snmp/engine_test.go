package snmp

import (
	"context"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

const fixture = "snmp/snmpd.conf"

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startSNMPD runs Debian's snmpd with the fixture config moved to a free port.
func startSNMPD(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		t.Skip("snmpd not installed (apt-get install -y snmpd)")
	}
	conf, err := os.ReadFile(fixtures.Path(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "snmpd.conf")
	text := strings.Replace(string(conf), "udp:127.0.0.1:1161", "udp:127.0.0.1:"+strconv.Itoa(port), 1)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", file)
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "MIBS=")
	logf, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait(); logf.Close() })
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: "testcomm", Version: gosnmp.Version2c, Timeout: 200 * time.Millisecond, Retries: 0}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := g.Connect(); err == nil {
			_, err = g.Get([]string{"1.3.6.1.2.1.1.5.0"})
			g.Conn.Close()
			if err == nil {
				return port
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("snmpd did not answer:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exec1(t *testing.T, e *Engine, executor string, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{CheckID: "chk-" + t.Name(), Engine: "snmp", Executor: executor, Parameters: params, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSNMPAgainstSnmpd(t *testing.T) {
	port := startSNMPD(t)
	e := New(Options{})
	v2 := func(kv ...string) map[string]string {
		m := map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(port), "snmp_version": "2", "snmp_community": "testcomm"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	v3 := func(kv ...string) map[string]string {
		m := v2(kv...)
		m["snmp_version"], m["snmp_user"], m["snmp_password"], m["snmp_priv_password"] = "3", "gouser", "authpass123", "privpass123"
		m["snmp_auth"], m["snmp_priv"] = "sha1", "aes128"
		delete(m, "snmp_community")
		return m
	}

	t.Run("get location v2c and v3 and v1", func(t *testing.T) {
		for name, p := range map[string]map[string]string{"v2c": v2("oid", "1.3.6.1.2.1.1.6.0"), "v3": v3("oid", "1.3.6.1.2.1.1.6.0"),
			"v1": v2("oid", "1.3.6.1.2.1.1.6.0", "snmp_version", "1")} {
			res := exec1(t, e, "get", p)
			if res.Status != checks.StatusInfo || res.Output != "1.3.6.1.2.1.1.6.0: conformance-lab" {
				t.Fatalf("%s: got %s %q", name, res.Status, res.Output)
			}
		}
	})
	t.Run("wrong v3 password", func(t *testing.T) {
		p := v3("oid", "1.3.6.1.2.1.1.6.0")
		p["snmp_password"] = "wrongpass123"
		if res := exec1(t, e, "get", p); res.Status.OK() {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("string match", func(t *testing.T) {
		if res := exec1(t, e, "get", v2("oid", "1.3.6.1.2.1.1.4.0", "match", "root@")); res.Status != checks.StatusOK {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		if res := exec1(t, e, "get", v2("oid", "1.3.6.1.2.1.1.4.0", "expect", "nobody")); res.Status != checks.StatusCritical {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("numeric thresholds", func(t *testing.T) {
		// ifNumber: at least lo.
		res := exec1(t, e, "get", v2("oid", "1.3.6.1.2.1.2.1.0", "warning", "0", "critical", "1000"))
		if res.Status != checks.StatusWarning || len(res.Perfdata) != 1 || *res.Perfdata[0].Value < 1 {
			t.Fatalf("got %s %q %+v", res.Status, res.Output, res.Perfdata)
		}
		if res := exec1(t, e, "get", v2("oid", "1.3.6.1.2.1.1.1.0", "warning", "1")); res.Status != checks.StatusUnknown {
			t.Fatalf("string with threshold: got %s %q", res.Status, res.Output)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		res := exec1(t, e, "get", v2("oid", "1.3.6.1.2.1.1.99.0"))
		if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "NoSuch") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("walk system", func(t *testing.T) {
		res := exec1(t, e, "walk", v3("oid", "1.3.6.1.2.1.1"))
		if res.Status != checks.StatusInfo || !strings.Contains(res.LongOutput, "1.3.6.1.2.1.1.6.0 = OctetString: conformance-lab") {
			t.Fatalf("got %s %q\n%s", res.Status, res.Output, res.LongOutput)
		}
	})
	t.Run("interface traffic", func(t *testing.T) {
		p := v2("interface", "lo")
		res := exec1(t, e, "interface", p)
		if res.Status != checks.StatusInfo || !strings.Contains(res.Output, "first counter sample") {
			t.Fatalf("first: got %s %q", res.Status, res.Output)
		}
		// snmpd caches interface counters for a few seconds: make traffic on
		// lo and poll until the agent's counters move.
		deadline := time.Now().Add(15 * time.Second)
		for {
			loopbackTraffic(t)
			time.Sleep(500 * time.Millisecond)
			res = exec1(t, e, "interface", p)
			if res.Status != checks.StatusOK || len(res.Perfdata) != 2 || *res.Perfdata[0].Value > 0 || time.Now().After(deadline) {
				break
			}
		}
		if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "lo is up: in ") || len(res.Perfdata) != 2 || *res.Perfdata[0].Value <= 0 {
			t.Fatalf("second: got %s %q %+v", res.Status, res.Output, res.Perfdata)
		}
	})
	t.Run("bergamot uptime script", func(t *testing.T) {
		cmd := loadScript(t, "check-snmp-uptime")
		res := exec1Script(t, e, cmd, v3("warning", "30", "critical", "15"))
		// snmpd has just started: uptime is under 15 minutes.
		if res.Status != checks.StatusCritical || !strings.HasPrefix(res.Output, "Up 0:00:") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		res = exec1Script(t, e, cmd, v3("warning", "0", "critical", "0"))
		if res.Status != checks.StatusOK {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("unknown executor", func(t *testing.T) {
		if res := exec1(t, e, "frobnicate", v2()); res.Status != checks.StatusError || !strings.Contains(res.Output, `"frobnicate"`) {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
}

func exec1Script(t *testing.T, e *Engine, src string, params map[string]string) *checks.Result {
	t.Helper()
	res, err := e.Execute(context.Background(), &checks.Request{CheckID: "s", Engine: "snmp", Executor: "script", Script: src, Parameters: params, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// loadScript returns a command's script from Bergamot's SNMP templates.
func loadScript(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, "bergamot-config/base/templates/commands/snmp/basic_snmp_commands.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Commands []struct {
			Name   string `xml:"name,attr"`
			Script string `xml:"script"`
		} `xml:"command"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Commands {
		if c.Name == name {
			return c.Script
		}
	}
	t.Fatalf("no command %q", name)
	return ""
}

func TestCounterDelta(t *testing.T) {
	for _, c := range []struct {
		prev, cur uint64
		width     uint
		want      uint64
	}{
		{10, 25, 32, 15},
		{4294967290, 4, 32, 10},
		{18446744073709551610, 5, 64, 11},
		{0, 0, 64, 0},
	} {
		if got := CounterDelta(c.prev, c.cur, c.width); got != c.want {
			t.Errorf("CounterDelta(%d, %d, %d) = %d, want %d", c.prev, c.cur, c.width, got, c.want)
		}
	}
}

// loopbackTraffic sends some UDP datagrams over lo.
func loopbackTraffic(t *testing.T) {
	c, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1000)
	for i := 0; i < 100; i++ {
		_, _ = c.Write(buf)
	}
}
