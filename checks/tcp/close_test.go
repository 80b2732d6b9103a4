package tcp_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
)

// closeRecorder accepts connections, sends nothing, and records how each
// one ended as the server saw it: "reset" or "eof".
type closeRecorder struct {
	addr string
	mu   sync.Mutex
	ends []string
}

func newCloseRecorder(t *testing.T) *closeRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &closeRecorder{addr: ln.Addr().String()}
	serveConns(t, ln, func(c net.Conn) {
		_, err := io.Copy(io.Discard, c)
		end := "eof"
		if errors.Is(err, syscall.ECONNRESET) {
			end = "reset"
		} else if err != nil {
			end = err.Error()
		}
		r.mu.Lock()
		r.ends = append(r.ends, end)
		r.mu.Unlock()
	})
	return r
}

// waitEnds waits until n connections have ended and returns how.
func (r *closeRecorder) waitEnds(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		r.mu.Lock()
		ends := append([]string(nil), r.ends...)
		r.mu.Unlock()
		if len(ends) >= n {
			return ends
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d connections ended: %v", len(ends), n, ends)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseMode: a plain connect check resets its connection (so it leaves
// no TIME_WAIT behind); close=graceful and checks that exchange data close
// with FIN.
func TestCloseMode(t *testing.T) {
	e := tcp.New(tcp.Options{})
	cases := []struct {
		name, close, send string
		want              string
	}{
		{"connect check resets", "", "", "reset"},
		{"graceful on request", "graceful", "", "eof"},
		{"exchange closes gracefully", "", `hello\n`, "eof"},
		{"reset on request with send", "reset", `hello\n`, "reset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newCloseRecorder(t)
			h, port, _ := net.SplitHostPort(srv.addr)
			params := map[string]string{"host": h, "port": port}
			if c.close != "" {
				params["close"] = c.close
			}
			if c.send != "" {
				params["send"] = c.send
			}
			for range 3 {
				if res := run(t, e, 2*time.Second, params); res.Status != checks.StatusOK {
					t.Fatalf("got %s %q", res.Status, res.Output)
				}
			}
			for _, end := range srv.waitEnds(t, 3) {
				if end != c.want {
					t.Fatalf("server saw %v, want all %q", srv.waitEnds(t, 3), c.want)
				}
			}
		})
	}
	t.Run("bad close value", func(t *testing.T) {
		res := run(t, e, time.Second, map[string]string{"host": "127.0.0.1", "port": "1", "close": "slam"})
		if res.Status != checks.StatusError || !strings.Contains(res.Output, `parameter "close": "slam" is not auto, reset or graceful`) {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
}
