package server

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// splitTLS divides the connections of ln by their first byte: a TLS
// handshake (0x16) goes to tlsLn, anything else (plain HTTP) to plainLn.
// Closing either closes ln.
func splitTLS(ln net.Listener) (tlsLn, plainLn net.Listener) {
	s := &splitter{ln: ln, done: make(chan struct{})}
	t := &chanListener{s: s, c: make(chan net.Conn)}
	p := &chanListener{s: s, c: make(chan net.Conn)}
	go s.run(t.c, p.c)
	return t, p
}

type splitter struct {
	ln   net.Listener
	once sync.Once
	done chan struct{}
	err  error
}

func (s *splitter) close() error { return s.closeWith(nil) }

// closeWith closes the listener once; cause (an Accept error) is what the
// halves' Accept returns afterwards.
func (s *splitter) closeWith(cause error) error {
	var err error
	s.once.Do(func() {
		s.err = cause
		close(s.done)
		err = s.ln.Close()
	})
	return err
}

func (s *splitter) run(tlsC, plainC chan net.Conn) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			_ = s.closeWith(err)
			return
		}
		go s.route(c, tlsC, plainC)
	}
}

// route reads the first byte (waiting at most 10 s) and hands the
// connection on with that byte still to be read.
func (s *splitter) route(c net.Conn, tlsC, plainC chan net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(c, 1024)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		_ = c.Close()
		return
	}
	pc := &peekedConn{Conn: c, r: br}
	to := plainC
	if first[0] == 0x16 {
		to = tlsC
	}
	select {
	case to <- pc:
	case <-s.done:
		_ = c.Close()
	}
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

type chanListener struct {
	s *splitter
	c chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.s.done:
		if l.s.err != nil {
			return nil, l.s.err
		}
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return l.s.close() }
func (l *chanListener) Addr() net.Addr { return l.s.ln.Addr() }
