package policytest

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/jdbc"
	"github.com/bergamot-monitoring/bergamot/checks/jmx"
	"github.com/bergamot-monitoring/bergamot/checks/libvirt"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	sshcheck "github.com/bergamot-monitoring/bergamot/checks/ssh"
)

// TestNewEnginesRefuseLoopbackWhileRunning: ssh, sftp, jdbc (PostgreSQL
// and MySQL), jmx and libvirt, and the scripts of ssh and jmx, dial only
// through the hosted policy: a loopback peer, by name or literal, sees no
// connection and the result is an ERROR naming the policy. With
// --allow-net 127.0.0.0/8 the same requests reach it.
func TestNewEnginesRefuseLoopbackWhileRunning(t *testing.T) {
	addr, accepted := listener(t)
	_, port, _ := net.SplitHostPort(addr)
	ssh := sshcheck.New(sshcheck.Options{})
	defer ssh.Close()
	sc := script.New(script.Options{})
	cases := []struct {
		name   string
		e      checks.Engine
		params map[string]string
		script string
	}{
		{"ssh", ssh, map[string]string{"host": "localhost", "port": port, "password": "x", "command_line": "check_load"}, ""},
		{"ssh script", ssh, map[string]string{"password": "x"},
			`ssh.connect('bergamot', '127.0.0.1', ` + port + `, function(s) { bergamot.ok(s.exec('id').stdOut) });`},
		{"sftp", ssh.SFTP(), map[string]string{"host": "127.0.0.1", "port": port, "password": "x", "path": "/etc/passwd"}, ""},
		{"jdbc postgresql", jdbc.New(jdbc.Options{Script: sc}), map[string]string{"url": "jdbc:postgresql://localhost:" + port + "/bergamot", "query": "select 1", "username": "u", "password": "p"}, ""},
		{"jdbc mysql", jdbc.New(jdbc.Options{Script: sc}), map[string]string{"driver": "mysql", "host": "127.0.0.1", "port": port, "query": "select 1", "username": "u"}, ""},
		{"jmx", jmx.New(jmx.Options{Script: sc}), map[string]string{"host": "127.0.0.1", "port": port, "mbean": "java.lang:type=Memory", "attribute": "HeapMemoryUsage", "inner_path": "used"}, ""},
		{"jmx script", jmx.New(jmx.Options{Script: sc}), nil,
			`jmx.connect('127.0.0.1', ` + port + `, null, null, function(c) { bergamot.ok('' + c.getMBean('java.lang:type=Runtime').getAttribute('VmName').getValue()) });`},
		{"libvirt", libvirt.New(libvirt.Options{}), map[string]string{"host": "localhost", "port": port, "uri": "test:///default"}, ""},
	}
	for _, tc := range cases {
		req := &checks.Request{Engine: tc.e.Name(), HostName: "h", HostAddress: "127.0.0.1", Parameters: tc.params, Script: tc.script, Policy: hosted()}
		if tc.script != "" {
			req.Executor = "script"
		}
		res := execute(t, tc.e, req)
		if res.Status != checks.StatusError || !strings.Contains(res.Output+res.LongOutput, "hosted execution policy") {
			t.Errorf("%s under hosted: %s %q %q, want ERROR naming the policy", tc.name, res.Status, res.Output, res.LongOutput)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback peer saw %d connections under hosted", n)
	}
	for _, tc := range cases {
		before := accepted.Load()
		req := &checks.Request{Engine: tc.e.Name(), HostName: "h", HostAddress: "127.0.0.1", Parameters: tc.params, Script: tc.script, Policy: hosted("127.0.0.0/8", "::1/128")}
		if tc.script != "" {
			req.Executor = "script"
		}
		res := execute(t, tc.e, req)
		if strings.Contains(res.Output+res.LongOutput, "hosted execution policy") || accepted.Load() == before {
			t.Errorf("%s with --allow-net 127.0.0.0/8: %s %q; the peer saw no connection", tc.name, res.Status, res.Output)
		}
	}
}

// TestLibvirtUnixSocketRefused: under hosted libvirtd's Unix socket is a
// file of the worker, refused at apply time (CheckPolicy) and, had it
// slipped past, while running, before any socket is opened.
func TestLibvirtUnixSocketRefused(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", dir+"/libvirt-sock")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			got <- struct{}{}
			c.Close()
		}
	}()
	e := libvirt.New(libvirt.Options{})
	req := &checks.Request{Engine: "libvirt", Parameters: map[string]string{"socket": dir + "/libvirt-sock", "uri": "test:///default"}}
	if err := e.CheckPolicy(context.Background(), hosted(), req); err == nil || !strings.Contains(err.Error(), `parameter "socket" names the worker file`) {
		t.Errorf("CheckPolicy: %v", err)
	}
	req.Policy = hosted("0.0.0.0/0")
	res := execute(t, e, req)
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "no files of the worker") {
		t.Errorf("run: %s %q", res.Status, res.Output)
	}
	select {
	case <-got:
		t.Fatal("the Unix socket saw a connection under hosted")
	default:
	}
}

// TestNewEnginesCheckPolicy: the apply-time half for literal targets.
func TestNewEnginesCheckPolicy(t *testing.T) {
	ssh := sshcheck.New(sshcheck.Options{})
	defer ssh.Close()
	for _, tc := range []struct {
		e      checks.PolicyChecker
		params map[string]string
		addr   string
		want   string
	}{
		{ssh, nil, "127.0.0.1", "loopback"},
		{ssh.SFTP(), map[string]string{"host": "10.1.1.1"}, "203.0.113.1", "private"},
		{jdbc.New(jdbc.Options{}), map[string]string{"url": "jdbc:mariadb://[::1]:3306/x"}, "203.0.113.1", "loopback"},
		{jmx.New(jmx.Options{}), nil, "169.254.169.254", "metadata"},
		{libvirt.New(libvirt.Options{}), nil, "192.168.0.10", "private"},
	} {
		req := &checks.Request{HostAddress: tc.addr, Parameters: tc.params}
		err := tc.e.CheckPolicy(context.Background(), hosted(), req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%T %v %s: %v, want a refusal (%s)", tc.e, tc.params, tc.addr, err, tc.want)
		}
		req.HostAddress, req.Parameters = "203.0.113.7", nil
		if err := tc.e.CheckPolicy(context.Background(), hosted(), req); err != nil {
			t.Errorf("%T public: %v", tc.e, err)
		}
		if err := tc.e.CheckPolicy(context.Background(), nil, &checks.Request{HostAddress: "127.0.0.1"}); err != nil {
			t.Errorf("%T trusted: %v", tc.e, err)
		}
	}
}
