package graph

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// gorillaWebsocket adapts gorilla/websocket to gqlgen's websocket transport,
// for both graphql-transport-ws and the legacy graphql-ws subprotocols.
type gorillaWebsocket struct {
	allowedOrigins []string
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
	c, err := up.Upgrade(w, r, o.ResponseHeader)
	if err != nil {
		return nil, err
	}
	return &gorillaConn{c: c}, nil
}

type gorillaConn struct {
	c  *websocket.Conn
	mu sync.Mutex
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

func (g *gorillaConn) WriteJSON(v any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	_ = g.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return g.c.WriteJSON(v)
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
