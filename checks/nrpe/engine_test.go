package nrpe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// request builds a check request the way Bergamot's templates do
// (generic_nrpe_commands.xml passes "host" and "command").
func request(d *daemon, params ...string) *checks.Request {
	p := map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(d.port)}
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
	}
	if d.mode == modeMTLS {
		p["tls_cert"], p["tls_key"], p["tls_ca"] = d.pki.clientCert, d.pki.clientKey, d.pki.caCert
	}
	return &checks.Request{Engine: "nrpe", Parameters: p}
}

func execute(t *testing.T, e *Engine, req *checks.Request) *checks.Result {
	t.Helper()
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return res
}

// TestMatchesCheckNRPE runs every test command through the engine and the
// real check_nrpe against the real daemon in each of its modes, and wants
// the same status, status text, long output and perfdata.
func TestMatchesCheckNRPE(t *testing.T) {
	all := []string{"", "check_users", "check_long", "check_warn", "check_crit", "check_unknown",
		"check_big", "check_exit7", "check_semicolon", "no_such_command"}
	few := []string{"", "check_long", "check_crit", "no_such_command"}
	alsoV2 := map[string]bool{"check_users": true, "check_long": true, "check_big": true}
	for _, mode := range []daemonMode{modeADH, modeCert, modePlain, modeMTLS} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, mode)
			e := New(Options{})
			defer e.Close()
			commands := all
			if mode == modeCert || mode == modeMTLS {
				commands = few
			}
			for _, cmd := range commands {
				for _, v2 := range []bool{false, true} {
					if v2 && !alsoV2[cmd] {
						continue
					}
					args, params := []string{}, []string{}
					if cmd != "" {
						args, params = append(args, "-c", cmd), append(params, "command", cmd)
					}
					if v2 {
						args, params = append(args, "-2"), append(params, "version", "2")
					}
					want, code := d.reference(t, args...)
					wantStatus, _ := checks.FromNagiosExit(code)
					wantOut := checks.ParsePluginOutput([]byte(want))
					res := execute(t, e, request(d, params...))
					name := cmd + " " + strings.Join(params, " ")
					if res.Status != wantStatus || res.Output != wantOut.Status || res.LongOutput != wantOut.LongOutput {
						t.Errorf("%s: got %s %q long %q, check_nrpe says %s %q long %q", name,
							res.Status, res.Output, res.LongOutput, wantStatus, wantOut.Status, wantOut.LongOutput)
					}
					wantPerf, _ := checks.ParsePerfdata(wantOut.Perfdata)
					if len(res.Perfdata) != len(wantPerf) {
						t.Errorf("%s: %d perfdata items, check_nrpe gives %d", name, len(res.Perfdata), len(wantPerf))
					}
				}
			}
			if mode == modeMTLS {
				return
			}
			want := map[daemonMode]Transport{modeADH: TransportADH, modeCert: TransportTLS, modePlain: TransportPlain}[mode]
			if got, _ := e.Client().Remembered(d.addr); got != want {
				t.Errorf("auto mode remembered %q for a %s daemon, want %q", got, mode, want)
			}
		})
	}
}

// TestRawOutputMatches compares the daemon's raw text byte for byte with
// what check_nrpe prints, including the 19 KB v4 answer and the v2 cut.
func TestRawOutputMatches(t *testing.T) {
	d := startDaemon(t, modeADH)
	c := NewClient()
	defer c.Close()
	for _, v := range []int{Version4, Version2} {
		for _, cmd := range []string{"check_big", "check_long", VersionCommand} {
			args := []string{"-c", cmd}
			if v == Version2 {
				args = append(args, "-2")
			}
			want, code := d.reference(t, args...)
			resp, err := c.Do(context.Background(), &Query{Address: d.addr, Command: cmd, Version: v, Transport: TransportADH})
			if err != nil {
				t.Fatalf("v%d %s: %v", v, cmd, err)
			}
			if resp.Output != want || resp.ResultCode != code || resp.Version != v {
				t.Errorf("v%d %s: got v%d code %d %d bytes, check_nrpe: code %d %d bytes", v, cmd, resp.Version, resp.ResultCode, len(resp.Output), code, len(want))
			}
		}
	}
	if resp, err := c.Do(context.Background(), &Query{Address: d.addr, Command: VersionCommand, Transport: TransportADH}); err != nil || resp.Output != "NRPE v4.1.0" || !strings.Contains(resp.Security, "ADH-AES256-GCM-SHA384") {
		t.Errorf("version query: %+v %v", resp, err)
	}
}

// TestTransports checks explicit transports against daemons that do not
// speak them, certificate verification, and that auto mode never downgrades
// past a certificate that fails verification.
func TestTransports(t *testing.T) {
	adh := startDaemon(t, modeADH)
	cert := startDaemon(t, modeCert)
	e := New(Options{})
	defer e.Close()
	other := newTestPKI(t, t.TempDir())
	cases := []struct {
		d      *daemon
		params []string
		status checks.Status
		output string
	}{
		{adh, []string{"transport", "tls"}, checks.StatusCritical, "CRITICAL - no secure connection to NRPE at " + adh.addr},
		{adh, []string{"transport", "adh"}, checks.StatusOK, "USERS OK"},
		{adh, []string{"ssl", "true"}, checks.StatusOK, "USERS OK"},
		{adh, []string{"transport", "plain"}, checks.StatusUnknown, "NRPE: " + adh.addr + " closed the connection without answering"},
		{cert, []string{"transport", "adh"}, checks.StatusCritical, "CRITICAL - no secure connection"},
		{cert, []string{"transport", "tls", "tls_ca", cert.pki.caCert}, checks.StatusOK, "USERS OK"},
		{cert, []string{"tls_ca", other.caCert}, checks.StatusCritical, "certificate signed by unknown authority"},
		{cert, []string{"tls_ca", other.caCert, "insecure", "true"}, checks.StatusOK, "USERS OK"},
		{cert, []string{"ssl", "false"}, checks.StatusUnknown, "closed the connection without answering"},
	}
	for _, c := range cases {
		res := execute(t, e, request(c.d, append([]string{"command", "check_users"}, c.params...)...))
		if res.Status != c.status || !strings.Contains(res.Output, c.output) {
			t.Errorf("%s daemon, %v: got %s %q, want %s containing %q", c.d.mode, c.params, res.Status, res.Output, c.status, c.output)
		}
		if strings.Contains(res.Output, "certificate signed by unknown") && strings.Contains(res.Output, "also tried") {
			t.Errorf("auto mode went on after a failed verification: %q", res.Output)
		}
	}
}

// TestFailures covers what a user sees when things go wrong, next to what
// check_nrpe says.
func TestFailures(t *testing.T) {
	d := startDaemon(t, modeADH)
	e := New(Options{})
	defer e.Close()

	t.Run("refused", func(t *testing.T) {
		gone := &daemon{mode: modeADH, port: testnet.FreePort(t)}
		_, code := gone.reference(t, "-c", "check_users")
		res := execute(t, e, request(gone, "command", "check_users"))
		want := "CRITICAL - connection refused to 127.0.0.1:" + strconv.Itoa(gone.port) + " after "
		if wantStatus, _ := checks.FromNagiosExit(code); res.Status != wantStatus || !strings.HasPrefix(res.Output, want) {
			t.Errorf("got %s %q, want %s %q...", res.Status, res.Output, wantStatus, want)
		}
	})
	t.Run("arguments", func(t *testing.T) {
		_, code := d.reference(t, "-c", "check_crit", "-a", "x", "y")
		res := execute(t, e, request(d, "command", "check_crit", "args", "x!y"))
		if wantStatus, _ := checks.FromNagiosExit(code); res.Status != wantStatus || !strings.HasPrefix(res.Output, "NRPE: server refused arguments") {
			t.Errorf("got %s %q, want %s and a refusal of the arguments", res.Status, res.Output, wantStatus)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for _, p := range [][]string{{"port", "x"}, {"transport", "quantum"}, {"timeout", "soon"}, {"tls_ca", "/nonexistent.pem"}, {"command", "a!b"}} {
			res := execute(t, e, request(d, p...))
			if res.Status != checks.StatusError || !strings.Contains(res.Output, strconv.Quote(p[0])) {
				t.Errorf("%v: got %s %q, want ERROR naming %q", p, res.Status, res.Output, p[0])
			}
		}
	})
	for _, mode := range []string{"adh", "plain"} {
		t.Run("timeout "+mode, func(t *testing.T) {
			dd := d
			if mode == "plain" {
				dd = startDaemon(t, modePlain)
			}
			start := time.Now()
			res := execute(t, e, request(dd, "command", "check_sleep", "timeout", "0.4", "transport", mode))
			if took := time.Since(start); res.Status != checks.StatusTimeout || took > 2*time.Second || took < 350*time.Millisecond {
				t.Errorf("got %s %q after %s, want TIMEOUT after 0.4 s", res.Status, res.Output, took)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			start = time.Now()
			res, _ = e.Execute(ctx, request(dd, "command", "check_sleep", "transport", mode))
			if took := time.Since(start); res.Status != checks.StatusTimeout || took > 2*time.Second {
				t.Errorf("cancelled: got %s %q after %s", res.Status, res.Output, took)
			}
		})
	}
}

// TestNoLeaks runs successful and failing checks over every transport and
// wants as many goroutines and open descriptors afterwards as before.
func TestNoLeaks(t *testing.T) {
	adh, plain := startDaemon(t, modeADH), startDaemon(t, modePlain)
	gone := &daemon{mode: modeADH, port: testnet.FreePort(t)}
	run := func(e *Engine) {
		for _, r := range []*checks.Request{
			request(adh, "command", "check_users"), request(adh, "command", "check_users", "transport", "tls"),
			request(plain, "command", "check_users"), request(plain, "command", "check_users", "transport", "adh"),
			request(adh, "command", "check_crit", "args", "1"), request(gone, "command", "x"),
			request(adh, "command", "check_sleep", "timeout", "0.2"), request(plain, "command", "check_sleep", "timeout", "0.2"),
		} {
			execute(t, e, r)
		}
	}
	warm := New(Options{})
	run(warm) // let the runtime start its own long-lived goroutines
	warm.Close()
	g0, fd0 := settledGoroutines(0), openFDs(t)
	e := New(Options{})
	run(e)
	e.Close()
	if g1, fd1 := settledGoroutines(g0), openFDs(t); g1 > g0 || fd1 > fd0 {
		t.Errorf("goroutines %d -> %d, open fds %d -> %d", g0, g1, fd0, fd1)
	}
}

func settledGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > target; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func itoa(n int) string { return strconv.Itoa(n) }

// queryEcho is an NRPE peer (plain TCP) that answers every query with the
// query string it received, so a test sees what a client put on the wire.
// Debian's daemon is built without argument support, so the real daemon
// cannot show what it would make of arguments; the real check_nrpe shows
// what it sends.
func queryEcho(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				p, err := ReadPacket(c)
				if err != nil {
					return
				}
				b, _ := EncodeResponse(p.Version, 0, "OK query=["+p.Buffer+"]")
				_, _ = c.Write(b)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestArgsLineAsNagios4 is an imported `check_nrpe -H ... -c check_args -a
// $ARG2$ $ARG3$` whose $ARG2$ holds spaces. nagios4 expands the macros and
// then splits the line into words (through /bin/sh here: the command line
// as nagios4 would run it), so the real check_nrpe sends each word as its
// own NRPE argument ("check_args!-w!10%!/"); quoted words stay whole. The
// engine's "args_line" (what the importer writes) must put the same query
// on the wire.
func TestArgsLineAsNagios4(t *testing.T) {
	requireDebianNRPE(t)
	port := queryEcho(t)
	e := New(Options{})
	defer e.Close()
	req := func(params ...string) *checks.Request {
		return request(&daemon{port: port}, append([]string{"command", "check_args", "transport", "plain"}, params...)...)
	}
	for _, argsLine := range []string{
		"-w 10% /",       // $ARG2$ = "-w 10%", $ARG3$ = "/"
		"'-w 10%' /",     // '$ARG2$' quoted in the command line
		`-w "80 90" \ x`, // quotes and a backslash inside the values
		"  -c   5  ",     // extra spaces
	} {
		line := fmt.Sprintf("%s -H 127.0.0.1 -p %d -n -t 10 -c check_args -a %s", checkNRPE, port, argsLine)
		out, err := exec.Command("/bin/sh", "-c", line).Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(string(out), "\n")
		res := execute(t, e, req("args_line", argsLine))
		if res.Output != want || !strings.HasPrefix(want, "OK query=[check_args!") {
			t.Errorf("args_line %q: engine sent %s %q, nagios4+check_nrpe sent %q", argsLine, res.Status, res.Output, want)
		}
	}
	// "args" stays as it was: '!'-separated, spaces inside an argument kept.
	if res := execute(t, e, req("args", "-w 10%!/")); res.Output != "OK query=[check_args!-w 10%!/]" {
		t.Errorf("args: %q", res.Output)
	}
	if res := execute(t, e, req("args_line", "'unterminated")); res.Status != checks.StatusError || !strings.Contains(res.Output, `parameter "args_line": unterminated ' quote`) {
		t.Errorf("bad args_line: %s %q", res.Status, res.Output)
	}
}
