package graph

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// subscribe registers with the hub for the caller's site and maps each
// update through fn (nil results are skipped) until ctx ends. match runs on
// the hub, before anything is queued for this subscription, so updates a
// subscriber does not want cost it nothing; fn runs on the subscription's
// own goroutine (one per subscription, not per message).
func subscribe[T any](ctx context.Context, r *Resolver, match func(u *live.Update) bool, keys []string, fn func(u *live.Update) []T) (<-chan T, error) {
	hub := r.Hub
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	// The hub reads every check of the site once for all subscribers; the
	// caller's security domains (the rule InSite applies to their reads)
	// gate each update before match sees it, so a check they may not read
	// never reaches them, nor its alerts or its notifications. The hub
	// re-reads them when the site's configuration or memberships change.
	access, err := r.accessFor(ctx, p)
	if err != nil {
		return nil, err
	}
	release, err := r.admitSubscription(ctx, p)
	if err != nil {
		return nil, err
	}
	gated := func(u *live.Update) bool {
		if !access.allows(u.Check.SecurityDomains) {
			return false
		}
		return match == nil || match(u)
	}
	sub := hub.SubscribeAs(ctx, p.Site.ID, access, gated, keys...)
	l, _ := ctx.Value(loadersKey{}).(*loaders)
	out := make(chan T, 256)
	go func() {
		defer release()
		defer close(out)
		for {
			batch, err := hub.Next(ctx, sub)
			if err != nil {
				return
			}
			for _, u := range batch {
				if hub.Trace != nil && u.Check.State != nil {
					hub.Trace.Stamp("6 subscription took it", u.Check.State.Output)
				}
				if u.Parent == nil || access.allows(u.Parent.SecurityDomains) {
					prime(l, u)
				}
				for _, v := range fn(u) {
					select {
					case out <- v:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out, nil
}

// subAccess is what a subscriber may read (live.Reloader): the security
// domains of its member, re-read by the hub when they may have changed.
// The subscriptions of one WebSocket connection share one.
type subAccess struct {
	tenants *tenants.Store
	p       *tenants.Principal
	log     *slog.Logger
	domains atomic.Pointer[tenants.Domains]
}

// accessFor returns the access of ctx's connection (made at its first
// subscription) or, outside a WebSocket connection, a new one.
func (r *Resolver) accessFor(ctx context.Context, p *tenants.Principal) (*subAccess, error) {
	c, _ := ctx.Value(connSubsKey{}).(*connSubs)
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.access != nil {
			return c.access, nil
		}
	}
	d, err := tenants.ReadableDomains(ctx, r.Pool)
	if err != nil {
		return nil, err
	}
	a := &subAccess{tenants: r.Tenants, p: p, log: r.Logger}
	a.domains.Store(&d)
	if c != nil {
		c.access = a
	}
	return a, nil
}

func (a *subAccess) allows(domains []string) bool { return a.domains.Load().Allows(domains) }

// Reload re-reads the role and security domains of the members of all
// (the open connections of a's site on this node, a among them) in one
// transaction (tenants.Store.CurrentDomainsAll): a member no longer
// active, or an error, leaves their subscriptions receiving nothing.
func (a *subAccess) Reload(ctx context.Context, all []live.Reloader) error {
	subs := make([]*subAccess, 0, len(all))
	ps := make([]*tenants.Principal, 0, len(all))
	for _, r := range all {
		if s, ok := r.(*subAccess); ok {
			subs, ps = append(subs, s), append(ps, s.p)
		}
	}
	var ds []tenants.Domains
	var err error
	if len(subs) == len(all) {
		ds, err = a.tenants.CurrentDomainsAll(ctx, a.p.Site.ID, ps)
	} else {
		err = fmt.Errorf("a subscriber of another kind among them (%d of %d are connections)", len(subs), len(all))
	}
	if err != nil {
		for _, s := range subs {
			s.domains.Store(&tenants.Domains{None: true})
		}
		return fmt.Errorf("re-reading the access of site %s's %d subscribers: %w", a.p.Site.Name, len(subs), err)
	}
	for i, s := range subs {
		s.domains.Store(&ds[i])
		a.log.DebugContext(ctx, "live updates: a subscriber's access re-read", slog.String("site", a.p.Site.Name), slog.String("member", s.p.User.Email),
			slog.Bool("all", ds[i].All), slog.Bool("none", ds[i].None), slog.Any("domains", ds[i].Readable))
	}
	return nil
}

// prime gives the connection's check loader the parent the hub re-read
// with u, so resolving a service's host (say) reads nothing from the
// database and shows the host as of this update rather than as first
// loaded.
func prime(l *loaders, u *live.Update) {
	if l == nil || u.Parent == nil {
		return
	}
	l.checks.Clear(u.Parent.ID)
	l.checks.Prime(u.Parent.ID, u.Parent)
}

func (r *Resolver) checkUpdated(ctx context.Context, f *store.CheckFilter) (<-chan *model.CheckUpdate, error) {
	return subscribe(ctx, r, func(u *live.Update) bool { return matchesBeforeOrAfter(f, u) }, filterKeys(f), func(u *live.Update) []*model.CheckUpdate {
		return []*model.CheckUpdate{{Check: store.AsChecker(u.Check), Previous: u.Previous, State: u.Check.State}}
	})
}

func (r *Resolver) alertUpdated(ctx context.Context) (<-chan *store.Alert, error) {
	return subscribe(ctx, r, func(u *live.Update) bool { return len(u.Alerts) > 0 }, nil, func(u *live.Update) []*store.Alert { return u.Alerts })
}

func (r *Resolver) notifications(ctx context.Context) (<-chan *model.NotificationEvent, error) {
	return subscribe(ctx, r, func(u *live.Update) bool { return notificationType(u) != "" }, nil, func(u *live.Update) []*model.NotificationEvent {
		cur := u.Check.State
		return []*model.NotificationEvent{{Type: notificationType(u), Check: store.AsChecker(u.Check), Status: cur.Status, Output: cur.Output, At: u.At}}
	})
}

// matchesBeforeOrAfter reports whether f selects u's check as it is now
// or as it was before u. A subscription filtered by state (problems,
// status, hard, acknowledged, inDowntime) thus also receives the update
// that takes a check out of its set, such as a problem's recovery, and
// can drop the check instead of showing it as it last matched. With
// changed: true, u must also change what a status view shows
// (live.Update.Changed: store.SummaryChanged against the state the hub
// last pushed, or, for a check it had not followed, a summary change
// since it began following the site; a check's first state always does).
func matchesBeforeOrAfter(f *store.CheckFilter, u *live.Update) bool {
	if f != nil && f.Changed != nil && *f.Changed && !u.Changed {
		return false
	}
	if f.Match(u.Check) {
		return true
	}
	if u.Previous == nil || u.Check.State == nil {
		return false
	}
	before := *u.Check
	before.State = u.Previous
	return f.Match(&before)
}

// filterKeys are the hub index keys of a filter that names check ids or a
// host (nil: the subscription sees every update of the site).
func filterKeys(f *store.CheckFilter) []string {
	switch {
	case f == nil:
		return nil
	case len(f.IDs) > 0:
		keys := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			keys[i] = live.IDKey(id)
		}
		return keys
	case f.Host != nil:
		return []string{live.HostKey(*f.Host)}
	}
	return nil
}

// notificationType is "alert" or "recovery" when u is a hard change that
// notifies, otherwise "".
func notificationType(u *live.Update) string {
	prev, cur := u.Previous, u.Check.State
	if prev == nil || cur == nil || !cur.Hard || (prev.Status == cur.Status && prev.Hard == cur.Hard) {
		return ""
	}
	if cur.Acknowledged || cur.Suppressed || cur.InDowntime || cur.Encompassed {
		return ""
	}
	switch {
	case !cur.OK && (prev.OK || !prev.Hard || cur.Status.Worse(prev.Status)):
		return "alert"
	case cur.OK && !prev.OK:
		return "recovery"
	}
	return ""
}
