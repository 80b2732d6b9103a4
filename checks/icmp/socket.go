package icmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	xicmp "golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// socket is an ICMP endpoint: a datagram ("udp4"/"udp6") socket, whose
// replies the kernel filters for us, or a raw one, which sees all ICMP.
type socket struct {
	conn  *xicmp.PacketConn
	v6    bool
	dgram bool
}

func openSocket(v6, privileged bool) (*socket, error) {
	dgramNet, rawNet, addr := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		dgramNet, rawNet, addr = "udp6", "ip6:ipv6-icmp", "::"
	}
	var dgramErr error
	if !privileged {
		c, err := xicmp.ListenPacket(dgramNet, addr)
		if err == nil {
			return &socket{conn: c, v6: v6, dgram: true}, nil
		}
		dgramErr = err
	}
	c, err := xicmp.ListenPacket(rawNet, addr)
	if err != nil {
		const hint = "allow unprivileged ping with sysctl net.ipv4.ping_group_range, or run as root / with CAP_NET_RAW"
		if dgramErr == nil { // privileged: only a raw socket was tried
			return nil, fmt.Errorf("%w: raw socket: %w (%s)", errNoSocket, err, hint)
		}
		return nil, fmt.Errorf("%w: datagram socket: %w; raw socket: %w (%s)", errNoSocket, dgramErr, err, hint)
	}
	return &socket{conn: c, v6: v6}, nil
}

func (s *socket) close() { _ = s.conn.Close() }

func (s *socket) send(ip net.IP, id, seq int) error {
	var typ xicmp.Type = ipv4.ICMPTypeEcho
	if s.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	payload := []byte("bergamot-ping-0123456789abcdef")
	msg := xicmp.Message{Type: typ, Body: &xicmp.Echo{ID: id, Seq: seq, Data: payload}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	var dst net.Addr = &net.IPAddr{IP: ip}
	if s.dgram {
		dst = &net.UDPAddr{IP: ip}
	}
	_, err = s.conn.WriteTo(b, dst)
	return err
}

// receive reads echo replies until the deadline, recording the round-trip
// time of each of ours (matched by id on raw sockets, and by sequence).
func (s *socket) receive(ctx context.Context, id int, until time.Time, sent map[int]time.Time, rtts map[int]time.Duration) error {
	proto := 1
	var reply xicmp.Type = ipv4.ICMPTypeEchoReply
	if s.v6 {
		proto, reply = 58, ipv6.ICMPTypeEchoReply
	}
	buf := make([]byte, 1500)
	for len(rtts) < len(sent) {
		if err := s.conn.SetReadDeadline(until); err != nil {
			return err
		}
		if ctx.Err() != nil {
			// The check's time is up (and the deadline just set replaced the
			// one ctx's end set): stop waiting, as at the deadline; packets not
			// answered by now count as lost.
			return nil //nolint:nilerr // the end of ctx ends the wait, it is not a failure
		}
		n, _, err := s.conn.ReadFrom(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		m, err := xicmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		echo, ok := m.Body.(*xicmp.Echo)
		if !ok || (!s.dgram && echo.ID != id) {
			continue
		}
		if t, ok := sent[echo.Seq]; ok {
			if _, dup := rtts[echo.Seq]; !dup {
				rtts[echo.Seq] = now.Sub(t)
			}
		}
	}
	return nil
}
