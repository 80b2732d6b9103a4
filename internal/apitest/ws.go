package apitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
)

// The two GraphQL-over-WebSocket subprotocols.
const (
	TransportWS = "graphql-transport-ws" // graphql-ws (the npm package) >= 5
	LegacyWS    = "graphql-ws"           // subscriptions-transport-ws (Apollo's old client)
)

// WS is a GraphQL WebSocket client connection.
type WS struct {
	Conn     *websocket.Conn
	Protocol string
	mu       sync.Mutex
	next     int
	failed   error // a read failed: the connection is done
}

// Message is one server message.
type Message struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// DialWS opens /graphql over WebSocket with protocol and extra headers
// (Authorization, Origin); it returns the HTTP response also on failure.
func (e *Env) DialWS(protocol string, header http.Header) (*WS, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(e.URL, "http")+"/graphql", header)
	if err != nil {
		return nil, resp, err
	}
	return &WS{Conn: c, Protocol: protocol}, resp, nil
}

// Init sends connection_init with payload (nil: empty) and returns the
// server's answer: connection_ack on success.
func (w *WS) Init(payload map[string]any) (*Message, error) {
	if payload == nil {
		payload = map[string]any{}
	}
	if err := w.send(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		return nil, err
	}
	for {
		m, err := w.Read(5 * time.Second)
		if err != nil {
			return nil, err
		}
		if m.Type == "ka" || m.Type == "ping" {
			continue
		}
		return m, nil
	}
}

func (w *WS) send(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Conn.WriteJSON(v)
}

// Subscribe starts an operation and returns its id.
func (w *WS) Subscribe(query string, vars map[string]any) (string, error) {
	w.mu.Lock()
	w.next++
	id := fmt.Sprint(w.next)
	w.mu.Unlock()
	typ := "subscribe"
	if w.Protocol == LegacyWS {
		typ = "start"
	}
	return id, w.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": query, "variables": vars}})
}

// Read returns the next message, waiting at most d. After a timeout the
// connection cannot be read any more (gorilla/websocket) and Read keeps
// returning the error.
func (w *WS) Read(d time.Duration) (*Message, error) {
	if w.failed != nil {
		return nil, w.failed
	}
	_ = w.Conn.SetReadDeadline(time.Now().Add(d))
	var m Message
	if err := w.Conn.ReadJSON(&m); err != nil {
		w.failed = err
		return nil, err
	}
	return &m, nil
}

// Next returns the next data message (next/data), skipping keep-alives and
// answering pings; error and complete messages are returned as errors.
func (w *WS) Next(d time.Duration) (*Message, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, errTimeout
		}
		m, err := w.Read(left)
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				return nil, errTimeout
			}
			return nil, err
		}
		switch m.Type {
		case "ka", "pong":
		case "ping":
			_ = w.send(map[string]any{"type": "pong"})
		case "next", "data":
			return m, nil
		default:
			return m, fmt.Errorf("server sent %s: %s", m.Type, m.Payload)
		}
	}
}

var errTimeout = errors.New("no message in time")

// IsTimeout reports whether err is Next's timeout.
func IsTimeout(err error) bool { return errors.Is(err, errTimeout) }

// Close closes the connection.
func (w *WS) Close() { _ = w.Conn.Close() }

// MustSubscribe dials, authenticates through connection_init with token,
// and subscribes; the connection closes when the test ends.
func (e *Env) MustSubscribe(t testing.TB, protocol, token, query string, vars map[string]any) *WS {
	t.Helper()
	w, _, err := e.DialWS(protocol, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(w.Close)
	ack, err := w.Init(map[string]any{"authorization": "Bearer " + token})
	if err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_init: %+v %v", ack, err)
	}
	if _, err := w.Subscribe(query, vars); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return w
}

// WaitSubscribers waits until site has n open subscriptions on the hub, so
// that a change made next is seen by them.
func (e *Env) WaitSubscribers(t testing.TB, siteID string, n int) {
	t.Helper()
	id, err := uuid.Parse(siteID)
	if err != nil {
		t.Fatal(err)
	}
	Eventually(t, 5*time.Second, fmt.Sprintf("%d subscribers", n), func() bool { return e.Hub.Subscribers(id) >= n })
}
