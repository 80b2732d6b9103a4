package live

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/store"
)

// TestFanOut: notifications queue per site (coalesced), and each
// subscriber receives only its site's updates that its filter matches,
// as one batch; a full subscriber loses batches, counted.
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
	if got := <-byHost.C; len(got) != 2 || got[0] != updates[0] || got[1] != updates[1] {
		t.Errorf("host-keyed subscriber got %+v, want web1 and its service", got)
	}
	if got := <-byID.C; len(got) != 1 || got[0] != updates[1] {
		t.Errorf("id-keyed subscriber got %+v, want one update", got)
	}
	if got := <-all.C; len(got) != 3 {
		t.Errorf("unfiltered subscriber got %d updates, want 3", len(got))
	}
	if got := <-onlyWeb2.C; len(got) != 1 || got[0].Check.ID != web2.String() {
		t.Errorf("filtered subscriber got %+v", got)
	}
	select {
	case u := <-other.C:
		t.Errorf("site B's subscriber got %+v", u)
	default:
	}

	for range subscriberBuffer + 3 {
		h.mu.Lock()
		h.push(onlyWeb2, updates)
		h.mu.Unlock()
	}
	if d := h.Dropped(onlyWeb2); d != 3 {
		t.Errorf("dropped %d batches, want 3", d)
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
