package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func serve(t *testing.T, h http.Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := HTTPServer(context.Background(), h, to)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// A client that trickles its body one byte at a time is cut off at the read
// timeout (the security review's client was still accepted after 70 s).
func TestTrickledBodyIsCutAtReadTimeout(t *testing.T) {
	readErr := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}), Timeouts{Read: time.Second})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Duration, 1)
	go func() {
		for {
			time.Sleep(200 * time.Millisecond)
			if _, err := c.Write([]byte("x")); err != nil {
				closed <- time.Since(start)
				return
			}
			if time.Since(start) > 10*time.Second {
				closed <- 0
				return
			}
		}
	}()
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("handler read: %v, want a timeout", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("body read cut after %v, want about 1s", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a body trickled for 10 s was still being read; want it cut at the 1 s read timeout")
	}
}

// Headers sent slowly are cut at the header timeout, and oversized headers
// are refused.
func TestSlowAndHugeHeaders(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), Timeouts{ReadHeader: 500 * time.Millisecond, MaxHeaderBytes: 4096})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 100)); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("slow headers: read %v after %v, want the connection closed after ~0.5s", err, time.Since(start))
	}

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 70<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("70 KiB header: %d, want 431", resp.StatusCode)
	}
}

// WebSocket connections outlive the read timeout: the upgrade clears it.
func TestWebSocketOutlivesReadTimeout(t *testing.T) {
	up := websocket.Upgrader{}
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(mt, b)
		}
	}), Timeouts{Read: 500 * time.Millisecond})
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(1500 * time.Millisecond)
	if err := c.WriteMessage(websocket.TextMessage, []byte("still there")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "still there" {
		t.Fatalf("WebSocket after 3 read timeouts: %q %v", b, err)
	}
}
