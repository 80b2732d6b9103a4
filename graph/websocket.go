package graph

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/live"
)

// gorillaWebsocket adapts gorilla/websocket to gqlgen's websocket transport,
// for both graphql-transport-ws and the legacy graphql-ws subprotocols.
type gorillaWebsocket struct {
	allowedOrigins []string
	// hub's Trace (the latency benchmark's) is handed to each connection.
	hub *live.Hub
}

// checkOrigin accepts clients without an Origin (programs), the same host,
// and configured origins; browsers on other sites are refused.
func (g gorillaWebsocket) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range g.allowedOrigins {
		if strings.EqualFold(a, origin) {
			return true
		}
	}
	return false
}

func (g gorillaWebsocket) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	up := websocket.Upgrader{
		Subprotocols:     o.Subprotocols,
		CheckOrigin:      g.checkOrigin,
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	hw := &hijackWriter{ResponseWriter: w}
	c, err := up.Upgrade(hw, r, o.ResponseHeader)
	if err != nil {
		return nil, err
	}
	conn := &gorillaConn{c: c, out: hw.conn}
	if g.hub != nil {
		conn.trace = g.hub.Trace
	}
	return conn, nil
}

// hijackWriter hands gorilla a coalescingConn in place of the hijacked
// connection.
type hijackWriter struct {
	http.ResponseWriter
	conn *coalescingConn
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("websocket: response does not implement http.Hijacker")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = newCoalescingConn(c)
	return h.conn, rw, nil
}

// coalescingConn buffers what is written and lets one flusher goroutine per
// connection write it out: when the server is idle every frame goes out at
// once, and when it is busy the frames written meanwhile (updates of one
// change batch, say) leave in one system call instead of one each. A
// buffer past maxBuffered is written by the writer itself, which is the
// back-pressure a slow client gets.
type coalescingConn struct {
	net.Conn
	// wmu serialises writes to the socket and is taken before mu.
	wmu    sync.Mutex
	mu     sync.Mutex
	buf    []byte
	spare  []byte
	err    error
	closed bool
	wake   chan struct{}
}

const maxBuffered = 256 << 10

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, wake: make(chan struct{}, 1)}
	go cc.flusher()
	return cc
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil || c.closed {
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	c.buf = append(c.buf, p...)
	full := len(c.buf) > maxBuffered
	if !full {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	if full {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes out what is buffered, in order with the flusher's writes.
func (c *coalescingConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	out, err := c.buf, c.err
	c.buf = c.spare[:0]
	c.mu.Unlock()
	if err == nil && len(out) > 0 {
		if _, err = c.Conn.Write(out); err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	c.spare = out[:0]
	c.mu.Unlock()
	return err
}

func (c *coalescingConn) flusher() {
	for range c.wake {
		_ = c.flush()
	}
}

// Close writes out what is buffered (a close frame, typically) and closes.
func (c *coalescingConn) Close() error {
	_ = c.flush()
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.wake)
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

type gorillaConn struct {
	c   *websocket.Conn
	out *coalescingConn
	mu  sync.Mutex
	buf []byte
	// trace, set only by the latency benchmark, sees each message written.
	trace lattrace.Tracer
}

func (g *gorillaConn) Close() error { return g.c.Close() }

func (g *gorillaConn) NextReader() (int, io.Reader, error) {
	t, r, err := g.c.NextReader()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway || ce.Code == websocket.CloseNoStatusReceived) {
			return t, nil, transport.ErrWebsocketClosed
		}
		return t, nil, err
	}
	return t, r, nil
}

// WriteJSON sends one protocol message. gqlgen's messages (a struct with
// Payload json.RawMessage, ID and Type) are rendered directly: the payload
// is already compact JSON, and encoding/json would compact it again.
func (g *gorillaConn) WriteJSON(v any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = g.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if b, ok := appendMessage(g.buf[:0], v); ok {
		g.buf = b
		err := g.c.WriteMessage(websocket.TextMessage, b)
		if g.trace != nil {
			g.trace.Stamp("7 websocket written", string(b))
		}
		return err
	}
	return g.c.WriteJSON(v)
}

// appendMessage renders v as {"payload":...,"id":...,"type":...} when it
// is a pointer to a struct of exactly those three exported fields (plus
// unexported ones), as gqlgen's two protocol message types are.
func appendMessage(b []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return b, false
	}
	rv = rv.Elem()
	var payload json.RawMessage
	var id, typ string
	found := 0
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		switch {
		case f.Name == "Payload" && f.Type == reflect.TypeFor[json.RawMessage]() && f.Tag.Get("json") == "payload,omitempty":
			payload = rv.Field(i).Bytes()
		case f.Name == "ID" && f.Type.Kind() == reflect.String && f.Tag.Get("json") == "id,omitempty":
			id = rv.Field(i).String()
		case f.Name == "Type" && f.Type.Kind() == reflect.String && f.Tag.Get("json") == "type":
			typ = rv.Field(i).String()
		default:
			return b, false
		}
		found++
	}
	// The payload is gqlgen's json.Marshal output: compact, valid JSON.
	if found != 3 {
		return b, false
	}
	b = append(b, '{')
	if len(payload) > 0 {
		b = append(b, `"payload":`...)
		b = append(b, payload...)
		b = append(b, ',')
	}
	if id != "" {
		b = append(b, `"id":`...)
		b = appendString(b, id)
		b = append(b, ',')
	}
	b = append(b, `"type":`...)
	b = appendString(b, typ)
	return append(b, '}'), true
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func (g *gorillaConn) WriteClose(code int, msg string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg), time.Now().Add(time.Second))
}

func (g *gorillaConn) Subprotocol() string { return g.c.Subprotocol() }

// SetReadLimit implements transport.WebsocketReadLimiter.
func (g *gorillaConn) SetReadLimit(n int64) { g.c.SetReadLimit(n) }

// SetReadDeadline implements transport.WebsocketReadDeadliner.
func (g *gorillaConn) SetReadDeadline(t time.Time) error { return g.c.SetReadDeadline(t) }
