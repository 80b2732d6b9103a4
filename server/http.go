package server

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may take to send a request and how long
// an idle connection is kept. A client that trickles its headers or body is
// cut off instead of holding a connection and a goroutine for ever.
type Timeouts struct {
	// ReadHeader is the time to send the request line and headers.
	ReadHeader time.Duration
	// Read is the time to send the whole request, body included. WebSocket
	// connections are exempt once upgraded (the upgrade clears the
	// deadline; the GraphQL transport pings them instead).
	Read time.Duration
	// Idle is how long a keep-alive connection may wait for its next request.
	Idle time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// DefaultTimeouts are the timeouts `bergamot serve` and `run` use unless the
// operator sets BERGAMOT_HTTP_* (docs/limits.md).
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Idle: 120 * time.Second, MaxHeaderBytes: 64 << 10}
}

// HTTPServer returns the server for handler with the timeouts t (zero fields
// take DefaultTimeouts); requests' contexts derive from ctx.
func HTTPServer(ctx context.Context, handler http.Handler, t Timeouts) *http.Server {
	d := DefaultTimeouts()
	if t.ReadHeader <= 0 {
		t.ReadHeader = d.ReadHeader
	}
	if t.Read <= 0 {
		t.Read = d.Read
	}
	if t.Idle <= 0 {
		t.Idle = d.Idle
	}
	if t.MaxHeaderBytes <= 0 {
		t.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return &http.Server{Handler: handler, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, IdleTimeout: t.Idle,
		MaxHeaderBytes: t.MaxHeaderBytes, BaseContext: func(net.Listener) context.Context { return ctx }}
}
