package irc

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// watcher is a second, independent IRC client sitting in the channel.
type watcher struct {
	t     *testing.T
	nc    net.Conn
	lines chan string // PRIVMSG texts, "nick> text"
}

func watch(t *testing.T, addr, channel string) *watcher {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &watcher{t: t, nc: nc, lines: make(chan string, 100)}
	fmt.Fprintf(nc, "NICK watcher\r\nUSER watcher 0 * :Watcher\r\n")
	joined := make(chan struct{})
	go func() {
		r := bufio.NewReader(nc)
		for {
			raw, err := r.ReadString('\n')
			if err != nil {
				close(w.lines)
				return
			}
			m := parseLine(raw)
			switch m.command {
			case "PING":
				fmt.Fprintf(nc, "PONG :%s\r\n", m.trailing())
			case "001":
				fmt.Fprintf(nc, "JOIN %s\r\n", channel)
			case "366": // end of NAMES: joined
				close(joined)
			case "PRIVMSG":
				w.lines <- m.nick() + "> " + m.trailing()
			}
		}
	}()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher could not join")
	}
	return w
}

func (w *watcher) next() string {
	w.t.Helper()
	select {
	case l, ok := <-w.lines:
		if !ok {
			w.t.Fatal("watcher disconnected")
		}
		return l
	case <-time.After(10 * time.Second):
		w.t.Fatal("no message arrived")
	}
	return ""
}

func (w *watcher) collect(n int) []string {
	out := make([]string, 0, n)
	for range n {
		out = append(out, w.next())
	}
	return out
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
