package netcheck

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// BindConn makes ctx govern conn: its deadline becomes the connection's, and
// cancelling ctx unblocks any read or write at once. Call the returned stop
// function when done with the connection (before closing it is fine).
func BindConn(ctx context.Context, conn net.Conn) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}

// Unescape turns the escapes \n \r \t \0 and \\ in a send/expect parameter
// into the characters they stand for; other backslashes are kept.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// ReadUntil reads from conn until want appears in what was read, limit bytes
// were read, the peer closed, ctx's deadline passed, or, once something has
// arrived, nothing more came for idle. It returns what was read and whether
// want was found; err is nil when want was found. An empty want accepts any
// first data.
func ReadUntil(ctx context.Context, conn net.Conn, want []byte, limit int, idle time.Duration) ([]byte, bool, error) {
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for len(buf) < limit {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if len(want) > 0 && bytes.Contains(buf, want) || len(want) == 0 && len(buf) > 0 {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
		if n > 0 && idle > 0 {
			d := time.Now().Add(idle)
			if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
				d = cd
			}
			_ = conn.SetReadDeadline(d)
		}
	}
	if len(buf) > limit {
		buf = buf[:limit]
	}
	return buf, false, errors.New("expected text not found in the first bytes read")
}

// Printable shortens and quotes received bytes for an output line.
func Printable(b []byte, max int) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(b, []byte("?"))))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return ' '
		}
		return r
	}, s)
}
