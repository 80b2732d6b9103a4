//go:build !cgo

package nrpe

import (
	"context"
	"errors"
	"net"
)

// adhAvailable reports whether this build can speak anonymous-DH TLS.
const adhAvailable = false

// adhDialer stands in for the OpenSSL binding in builds without cgo.
type adhDialer struct{}

func (d *adhDialer) handshake(context.Context, net.Conn) (net.Conn, string, error) {
	return nil, "", errors.New("anonymous-DH TLS needs OpenSSL, and this Bergamot was built without cgo")
}

func (d *adhDialer) close() {}
