// Package testnet has the small network helpers tests share.
package testnet

import (
	"net"
	"testing"
)

// FreePort returns a TCP port free on 127.0.0.1 right now (for a real
// daemon the test is about to start on it).
func FreePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
