package testnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Namespace is a network namespace made for one test: a veth pair links it
// to this host, the host end at HostIP and the namespace end at IP (both
// /32, with one route each way and no default route), and its loopback is
// up. It is deleted, with its veth pair and firewall rules, when the test
// ends.
type Namespace struct {
	Name   string
	HostIP string
	IP     string
	veth   string // the namespace's end of the veth pair
}

// NewNamespace makes a network namespace, or skips the test with the
// reason when this process cannot (not root, or no ip(8)).
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run this test as root to see a worker in a namespace of its own")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip(8) (Debian package iproute2) is not installed")
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	n := &Namespace{Name: "bergamot-" + id, HostIP: fmt.Sprintf("10.%d.%d.1", 200+int(b[0])%50, b[1]),
		IP: fmt.Sprintf("10.%d.%d.2", 200+int(b[0])%50, b[1]), veth: "bgn" + id}
	host := "bgh" + id
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", n.Name).Run()
		_ = exec.Command("ip", "link", "del", host).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", n.Name},
		{"link", "add", host, "type", "veth", "peer", "name", n.veth},
		{"link", "set", n.veth, "netns", n.Name},
		{"addr", "add", n.HostIP + "/32", "dev", host},
		{"link", "set", host, "up"},
		{"route", "add", n.IP + "/32", "dev", host},
		{"-n", n.Name, "addr", "add", n.IP + "/32", "dev", n.veth},
		{"-n", n.Name, "link", "set", n.veth, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
		{"-n", n.Name, "route", "add", n.HostIP + "/32", "dev", n.veth},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	return n
}

// AllowOnly lets the namespace reach nothing outside it but HostIP:port
// (TCP): everything else leaving it is rejected by iptables inside the
// namespace.
func (n *Namespace) AllowOnly(t testing.TB, port int) {
	t.Helper()
	for _, args := range [][]string{
		{"-A", "OUTPUT", "-o", n.veth, "-p", "tcp", "-d", n.HostIP, "--dport", strconv.Itoa(port), "-j", "ACCEPT"},
		{"-A", "OUTPUT", "-o", n.veth, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-A", "OUTPUT", "-o", n.veth, "-j", "REJECT"},
	} {
		if out, err := n.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v in %s: %v: %s", args, n.Name, err, out)
		}
	}
}

// Command runs name inside the namespace (ip netns exec, which execs it:
// the command's process is the one started).
func (n *Namespace) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// inside runs fn on an OS thread moved into the namespace; the thread is
// never given back (it ends with its goroutine), so no other goroutine
// runs in the namespace.
func (n *Namespace) inside(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering network namespace %s: %w", n.Name, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// Listen opens a TCP listener on 127.0.0.1 inside the namespace that
// accepts connections and closes them (a port for check_tcp); it is closed
// when the test ends.
func (n *Namespace) Listen(t testing.TB) net.Listener {
	t.Helper()
	var l net.Listener
	err := n.inside(func() (err error) {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return l
}

// Dial connects to addr (TCP) from inside the namespace.
func (n *Namespace) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inside(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

// Proxy listens on ip:0 and forwards each connection to the Unix socket at
// path: it puts a service that listens only on a socket (a test's
// PostgreSQL) on the network, for tests asserting who can reach it. It
// returns the listening address.
func Proxy(t testing.TB, ip, path string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("unix", path)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	return l.Addr().String()
}
