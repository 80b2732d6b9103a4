package irc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/ircdtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func sample(output string) *notifiers.Notification {
	return &notifiers.Notification{
		Type: notifiers.TypeAlert, Site: "acme",
		Check:  notifiers.Check{Kind: "service", Name: "disk", Summary: "Disk /", Host: "web1"},
		Status: checks.StatusCritical, Output: output, Duration: 2 * time.Minute, DashboardURL: "https://b.example/c/1",
	}
}

func newNotifier(t *testing.T, addr string) *Notifier { return startNotifier(t, Config{Server: addr}) }

// startNotifier makes the tests' notifier from cfg: nick bergamot in #ops,
// quick reconnects, closed when the test ends.
func startNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	cfg.Nick, cfg.Channel = "bergamot", "#ops"
	cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 200*time.Millisecond
	nf, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = nf.Close(ctx)
	})
	return nf
}

func TestPostToChannel(t *testing.T) {
	srv := ircdtest.Start(t, nil)
	w := watch(t, srv.Addr, "#ops")
	nf := newNotifier(t, srv.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	if err := nf.Send(ctx, sample("DISK CRITICAL - 97% used"), notifiers.Recipient{Addresses: map[string]string{"irc": "alice"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := w.next(), "bergamot> alice: [acme] Problem: Disk / on web1 is CRITICAL (2m): DISK CRITICAL - 97% used https://b.example/c/1"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	// A long message arrives split, every piece whole UTF-8, nothing lost.
	long := strings.Repeat("überlänge ", 120)
	if err := nf.Send(ctx, sample(long), notifiers.Recipient{}); err != nil {
		t.Fatal(err)
	}
	parts := SplitMessage(fmt.Sprintf("[acme] Problem: Disk / on web1 is CRITICAL (2m): %s https://b.example/c/1", long), 400)
	if len(parts) < 3 {
		t.Fatalf("only %d parts", len(parts))
	}
	got := w.collect(len(parts))
	var joined []string
	for _, g := range got {
		text := strings.TrimPrefix(g, "bergamot> ")
		if !utf8.ValidString(text) || len(text) > 400 {
			t.Errorf("bad part (%d bytes) %q", len(text), text)
		}
		joined = append(joined, text)
	}
	if strings.Count(strings.Join(joined, " "), "überlänge") != 120 {
		t.Errorf("words lost in split: %q", joined)
	}

	// Concurrent Sends share one connection and all arrive.
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Go(func() { errs <- nf.Send(ctx, sample(fmt.Sprintf("concurrent %d", i)), notifiers.Recipient{}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got = w.collect(5)
	for i := range 5 {
		if !hasLine(got, fmt.Sprintf("concurrent %d ", i)) {
			t.Errorf("concurrent %d missing from %q", i, got)
		}
	}
	if n := len(nf.conns); n != 1 {
		t.Errorf("%d connections, want 1 shared", n)
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv := ircdtest.Start(t, nil)
	nf := newNotifier(t, srv.Addr)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	w := watch(t, srv.Addr, "#ops")
	if err := nf.Send(ctx, sample("before restart"), notifiers.Recipient{}); err != nil {
		t.Fatal(err)
	}
	if l := w.next(); !strings.Contains(l, "before restart") {
		t.Fatalf("got %q", l)
	}

	srv.Stop()
	// While the server is down a Send with a short deadline fails transiently.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	err := nf.Send(short, sample("lost"), notifiers.Recipient{})
	cancelShort()
	if err == nil || notifiers.IsPermanent(err) {
		t.Fatalf("send while down: %v", err)
	}

	srv.Start()
	w2 := watch(t, srv.Addr, "#ops")
	if err := nf.Send(ctx, sample("after restart"), notifiers.Recipient{}); err != nil {
		t.Fatal(err)
	}
	if l := w2.next(); !strings.Contains(l, "after restart") {
		t.Fatalf("got %q", l)
	}

	// Close quits cleanly: the watcher sees no more, Send is refused.
	closeCtx, cancelClose := context.WithTimeout(ctx, 5*time.Second)
	defer cancelClose()
	if err := nf.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if err := nf.Send(ctx, sample("after close"), notifiers.Recipient{}); !notifiers.IsPermanent(err) {
		t.Errorf("send after close: %v", err)
	}
}

func TestSplitMessage(t *testing.T) {
	got := SplitMessage("one\r\n\n two \x01x\n"+strings.Repeat("ab ", 20), 32)
	want := []string{"one", "two x", "ab ab ab ab ab ab ab ab ab ab", "ab ab ab ab ab ab ab ab ab ab"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func FuzzParseAndSplit(f *testing.F) {
	for _, s := range []string{":n!u@h PRIVMSG #ops :hello there", "PING :x", "@a=b :s 001 me :Welcome", ":", "  ", "\xff\xfe"} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		m := parseLine(s)
		_ = m.nick() + m.trailing() + m.param(3)
		if max < 8 || max > 1000 {
			return
		}
		for _, p := range SplitMessage(s, max) {
			if len(p) > max || p == "" || strings.ContainsAny(p, "\r\n\x00") {
				t.Fatalf("SplitMessage(%q, %d) part %q", s, max, p)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "irc: server is required"},
		{Config{Server: "irc.example"}, `irc: server "irc.example" must be host:port`},
		{Config{Server: "h:6667"}, "irc: nick is required"},
		{Config{Server: "h:6667", Nick: "a b"}, `irc: nick "a b" contains characters IRC does not allow`},
		{Config{Server: "h:6667", Nick: "bot"}, "irc: channel is required"},
		{Config{Server: "h:6667", Nick: "bot", Channel: "ops"}, `irc: channel "ops" must start with # (or &, +, !) and contain no spaces or commas`},
	} {
		if err := c.cfg.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
