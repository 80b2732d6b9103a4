package rigtest

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
)

// Link is a TCP proxy the test controls, standing for the network between
// a node and what it dials. Cut makes it a black hole (bytes in flight are
// dropped, new connections hang, nothing is refused: what a pulled cable
// or a dead route looks like); Heal restores it, resetting the
// connections that were cut, as their peers' TCP would once the timeouts ran out.
type Link struct {
	Addr   string // where to dial instead of the target
	target string
	ln     net.Listener

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
}

// NewLink starts a proxy on a loopback port forwarding to target (host:port).
func NewLink(t testing.TB, target string) *Link {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { _ = ln.Close(); l.closeAll() })
	go l.accept()
	return l
}

func (l *Link) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.serve(c)
	}
}

func (l *Link) track(c net.Conn) {
	l.mu.Lock()
	l.conns[c] = true
	l.mu.Unlock()
}

func (l *Link) serve(c net.Conn) {
	l.track(c)
	var d net.Dialer
	up, err := d.DialContext(context.Background(), "tcp", l.target)
	if err != nil {
		_ = c.Close()
		return
	}
	l.track(up)
	go l.pipe(up, c)
	l.pipe(c, up)
}

// pipe copies src to dst while the link is up; while it is cut, what is
// read is dropped.
func (l *Link) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			l.mu.Lock()
			cut := l.cut
			l.mu.Unlock()
			if !cut {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = src.Close()
			}
			_ = dst.Close()
			return
		}
	}
}

// Cut drops everything from now on, in both directions.
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	l.mu.Unlock()
}

// Heal resets the connections open during the cut and forwards again.
func (l *Link) Heal() {
	l.closeAll()
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
}

func (l *Link) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.conns = map[net.Conn]bool{}
}
