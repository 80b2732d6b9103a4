package graph

import (
	"context"
	"log/slog"
	"sync"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Subscriptions are bounded per WebSocket connection and per site on this
// node (tenants.LimitSubscriptionsPerConnection, ...PerSite): one site's
// socket with 20,000 subscriptions made the hub's fan-out slow for every
// site (issue 19, item 4). Over a limit, the subscription is refused with
// an error naming the limit and its value; the others keep streaming.

type connSubsKey struct{}

// connSubs counts one connection's open subscriptions.
type connSubs struct {
	mu sync.Mutex
	n  int64
	// access is what the connection's member may read, shared by its
	// subscriptions (accessFor).
	access *subAccess
}

// withConnSubs gives a WebSocket connection its subscription counter.
func withConnSubs(ctx context.Context) context.Context {
	return context.WithValue(ctx, connSubsKey{}, &connSubs{})
}

// siteSubs counts each site's open subscriptions on this node.
type siteSubs struct {
	mu sync.Mutex
	n  map[uuid.UUID]int64
}

// admitSubscription counts a new subscription against its connection's and
// its site's limits, or refuses it. release uncounts it.
func (r *Resolver) admitSubscription(ctx context.Context, p *tenants.Principal) (release func(), err error) {
	perConn, lerr := r.Limits.Get(ctx, p.Site.ID, tenants.LimitSubscriptionsPerConnection)
	if lerr != nil {
		r.Logger.WarnContext(ctx, "reading site limits; using the defaults", slog.Any("error", lerr))
	}
	perSite, _ := r.Limits.Get(ctx, p.Site.ID, tenants.LimitSubscriptionsPerSite)
	c, _ := ctx.Value(connSubsKey{}).(*connSubs)
	if c != nil {
		c.mu.Lock()
		if c.n >= perConn {
			c.mu.Unlock()
			return nil, errs.E(errs.Forbidden, "subscription refused: this connection already has %d subscriptions open (limit %s = %d); close some or open another connection",
				perConn, tenants.LimitSubscriptionsPerConnection, perConn)
		}
		c.n++
		c.mu.Unlock()
	}
	s := &r.subs
	s.mu.Lock()
	if s.n == nil {
		s.n = map[uuid.UUID]int64{}
	}
	if s.n[p.Site.ID] >= perSite {
		s.mu.Unlock()
		if c != nil {
			c.mu.Lock()
			c.n--
			c.mu.Unlock()
		}
		return nil, errs.E(errs.Forbidden, "subscription refused: site %s already has %d subscriptions open on this server (limit %s = %d); close some first",
			p.Site.Name, perSite, tenants.LimitSubscriptionsPerSite, perSite)
	}
	s.n[p.Site.ID]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.n[p.Site.ID]--; s.n[p.Site.ID] <= 0 {
				delete(s.n, p.Site.ID)
			}
			s.mu.Unlock()
			if c != nil {
				c.mu.Lock()
				c.n--
				c.mu.Unlock()
			}
		})
	}, nil
}
