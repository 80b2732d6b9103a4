package graph

import (
	"context"

	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// subscribe registers with the hub for the caller's site and maps each
// update through fn (nil results are skipped) until ctx ends.
func subscribe[T any](ctx context.Context, hub *live.Hub, fn func(u *live.Update) []T) (<-chan T, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	sub := hub.Subscribe(ctx, p.Site.ID)
	out := make(chan T, 256)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-sub.C:
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

func (r *Resolver) checkUpdated(ctx context.Context, f *store.CheckFilter) (<-chan *model.CheckUpdate, error) {
	return subscribe(ctx, r.Hub, func(u *live.Update) []*model.CheckUpdate {
		if !f.Match(u.Check) {
			return nil
		}
		return []*model.CheckUpdate{{Check: store.AsChecker(u.Check), Previous: u.Previous, State: u.Check.State}}
	})
}

func (r *Resolver) alertUpdated(ctx context.Context) (<-chan *store.Alert, error) {
	return subscribe(ctx, r.Hub, func(u *live.Update) []*store.Alert { return u.Alerts })
}

func (r *Resolver) notifications(ctx context.Context) (<-chan *model.NotificationEvent, error) {
	return subscribe(ctx, r.Hub, func(u *live.Update) []*model.NotificationEvent {
		prev, cur := u.Previous, u.Check.State
		if prev == nil || !cur.Hard || (prev.Status == cur.Status && prev.Hard == cur.Hard) {
			return nil
		}
		var typ string
		switch {
		case !cur.OK && (prev.OK || !prev.Hard || cur.Status.Worse(prev.Status)):
			typ = "alert"
		case cur.OK && !prev.OK:
			typ = "recovery"
		default:
			return nil
		}
		if cur.Acknowledged || cur.Suppressed || cur.InDowntime || cur.Encompassed {
			return nil
		}
		return []*model.NotificationEvent{{Type: typ, Check: store.AsChecker(u.Check), Status: cur.Status, Output: cur.Output, At: u.At}}
	})
}
