package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/store"
)

// TestFanOut: notifications queue per site (coalesced), and each
// subscriber receives only its site's updates that its filter matches,
// as one batch.
func TestFanOut(t *testing.T) {
	h := NewHub(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	siteA, siteB := uuid.New(), uuid.New()
	web1, web2 := uuid.New(), uuid.New()
	all := h.Subscribe(ctx, siteA, nil)
	onlyWeb2 := h.Subscribe(ctx, siteA, func(u *Update) bool { return u.Check.ID == web2.String() })
	byHost := h.Subscribe(ctx, siteA, nil, HostKey("web1"))
	byID := h.Subscribe(ctx, siteA, nil, IDKey(web2.String()), IDKey(web2.String()))
	other := h.Subscribe(ctx, siteB, nil)

	h.handle(siteA.String() + ":" + web1.String() + "," + web2.String())
	h.handle(siteA.String() + ":" + web2.String() + ",not-a-uuid")
	h.handle(uuid.New().String() + ":" + web1.String()) // no subscribers: ignored
	h.handle("garbage")
	if len(h.pending) != 1 || len(h.pending[siteA]) != 2 {
		t.Fatalf("pending %v, want site A with 2 checks", h.pending)
	}

	updates := []*Update{
		{Check: &store.CheckRow{ID: web1.String(), Kind: store.KindHost, Name: "web1"}},
		{Check: &store.CheckRow{ID: web2.String(), Kind: store.KindService, Name: "disk", ParentName: "web1"}},
		{Check: &store.CheckRow{ID: uuid.NewString(), Kind: store.KindHost, Name: "web2"}},
	}
	h.mu.Lock()
	h.fanOut(siteA, updates)
	h.mu.Unlock()
	if got := <-byHost.c; len(got) != 2 || got[0] != updates[0] || got[1] != updates[1] {
		t.Errorf("host-keyed subscriber got %+v, want web1 and its service", got)
	}
	if got := <-byID.c; len(got) != 1 || got[0] != updates[1] {
		t.Errorf("id-keyed subscriber got %+v, want one update", got)
	}
	if got := <-all.c; len(got) != 3 {
		t.Errorf("unfiltered subscriber got %d updates, want 3", len(got))
	}
	if got := <-onlyWeb2.c; len(got) != 1 || got[0].Check.ID != web2.String() {
		t.Errorf("filtered subscriber got %+v", got)
	}
	select {
	case u := <-other.c:
		t.Errorf("site B's subscriber got %+v", u)
	default:
	}

	cancel()
	// context.AfterFunc unsubscribes asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for h.Subscribers(siteA)+h.Subscribers(siteB) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("subscribers still registered after their context ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlowSubscriberGetsLatestStates: a subscriber that falls more than
// subscriberBuffer batches behind loses no check: once it has drained its
// buffer it receives the rest as one batch holding each check's newest
// update, with the Previous of the oldest one it missed and every alert,
// and afterwards batches flow one by one again.
func TestSlowSubscriberGetsLatestStates(t *testing.T) {
	h := NewHub(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	site := uuid.New()
	s := h.Subscribe(ctx, site, nil)
	a, b := uuid.NewString(), uuid.NewString()
	update := func(id string, n int, alert string) *Update {
		u := &Update{Check: &store.CheckRow{ID: id, Kind: store.KindHost, Name: id,
			State: &store.CheckState{Output: fmt.Sprint(n)}}, Previous: &store.CheckState{Output: fmt.Sprint(n - 1)}}
		if alert != "" {
			u.Alerts = []*store.Alert{{ID: alert, Output: fmt.Sprint(n)}}
		}
		return u
	}
	push := func(us ...*Update) {
		h.mu.Lock()
		h.send(s, us)
		h.mu.Unlock()
	}
	for i := range subscriberBuffer {
		push(update(a, i, ""))
	}
	// Beyond the buffer: a's alert opens then changes, b appears.
	push(update(a, 2000, "alert-1"))
	push(update(b, 1, ""), update(a, 2001, "alert-1"))
	push(update(a, 2002, "alert-2"))
	if got := h.Coalesced(s); got != 2 {
		t.Errorf("coalesced %d updates, want 2", got)
	}
	next := func() []*Update {
		t.Helper()
		c, stop := context.WithTimeout(ctx, 5*time.Second)
		defer stop()
		got, err := h.Next(c, s)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		return got
	}
	for i := range subscriberBuffer {
		if got := next(); len(got) != 1 || got[0].Check.State.Output != fmt.Sprint(i) {
			t.Fatalf("batch %d: got %v, want check a's result %d", i, got[0].Check.State.Output, i)
		}
	}
	// Meanwhile the subscriber caught up: this goes to the backlog too,
	// behind what it owes, not ahead of it.
	push(update(b, 2, ""))
	got := next()
	if len(got) != 2 || got[0].Check.ID != a || got[1].Check.ID != b {
		t.Fatalf("backlog %v, want a then b", got)
	}
	if u := got[0]; u.Check.State.Output != "2002" || u.Previous.Output != "1999" {
		t.Errorf("a: state %s previous %s, want 2002 after 1999", u.Check.State.Output, u.Previous.Output)
	}
	if al := got[0].Alerts; len(al) != 2 || al[0].ID != "alert-1" || al[0].Output != "2001" || al[1].ID != "alert-2" {
		t.Errorf("a's alerts %+v, want alert-1 as of 2001 and alert-2", al)
	}
	if u := got[1]; u.Check.State.Output != "2" || u.Previous.Output != "0" {
		t.Errorf("b: state %s previous %s, want 2 after 0", u.Check.State.Output, u.Previous.Output)
	}
	push(update(b, 3, ""))
	if got := next(); len(got) != 1 || got[0].Check.State.Output != "3" {
		t.Errorf("after the backlog got %v, want b's next result alone", got)
	}
	c, stop := context.WithTimeout(ctx, 20*time.Millisecond)
	defer stop()
	if got, err := h.Next(c, s); err == nil {
		t.Errorf("Next with nothing queued returned %v", got)
	}
}

// countingReloader records the Reload calls it receives.
type countingReloader struct {
	calls *[][]Reloader
	fail  bool
}

func (c *countingReloader) Reload(_ context.Context, all []Reloader) error {
	*c.calls = append(*c.calls, all)
	if c.fail {
		return fmt.Errorf("database down")
	}
	return nil
}

// TestAccessReloadIsOnePerSite: when a site's access changes, the hub
// re-reads all its subscribers' access with one Reload for the site, not
// one per subscriber, so a site with many dashboards open holds up other
// sites' live updates for one round trip; a connection's several
// subscriptions count once. A failed reload marks the site for another
// try.
func TestAccessReloadIsOnePerSite(t *testing.T) {
	h := NewHub(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	siteA, siteB := uuid.New(), uuid.New()
	var callsA, callsB [][]Reloader
	for i := range 50 {
		r := &countingReloader{calls: &callsA}
		h.SubscribeAs(ctx, siteA, r, nil)
		if i%10 == 0 {
			h.SubscribeAs(ctx, siteA, r, nil, HostKey("web1")) // the same connection's second subscription
		}
	}
	for range 3 {
		h.SubscribeAs(ctx, siteB, &countingReloader{calls: &callsB, fail: true}, nil)
	}
	h.accessChanged(siteA.String())
	h.accessChanged(siteB.String())
	h.mu.Lock()
	stale := h.stale
	h.stale = map[uuid.UUID]struct{}{}
	h.mu.Unlock()
	h.reload(ctx, stale)
	if len(callsA) != 1 || len(callsA[0]) != 50 {
		t.Errorf("site A: %d Reload calls (first with %d subscribers), want one with its 50 connections", len(callsA), lenFirst(callsA))
	}
	seen := map[Reloader]bool{}
	for _, r := range callsA[0] {
		seen[r] = true
	}
	if len(seen) != 50 {
		t.Errorf("site A's Reload got %d distinct connections, want 50", len(seen))
	}
	if len(callsB) != 1 || len(callsB[0]) != 3 {
		t.Errorf("site B: %d Reload calls (first with %d), want one with its 3", len(callsB), lenFirst(callsB))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		_, again := h.stale[siteB]
		_, wrongly := h.stale[siteA]
		h.mu.Unlock()
		if wrongly {
			t.Fatal("site A marked for another reload after its reload succeeded")
		}
		if again {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("site B's failed reload was not marked for another try")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lenFirst(calls [][]Reloader) int {
	if len(calls) == 0 {
		return 0
	}
	return len(calls[0])
}
