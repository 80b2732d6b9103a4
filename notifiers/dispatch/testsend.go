package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// SendTest sends a test notification to one contact of the site in ctx over
// one channel, as configured now, and records it in the delivery log. The
// error says what is wrong (channel not configured for that contact,
// server refused, ...).
func (d *Dispatcher) SendTest(ctx context.Context, contact, channel string) error {
	// No d.defaults() here: Run owns that, and SendTest may run alongside it.
	if d.Channels == nil {
		return errs.E(errs.Internal, "no notification channels configured on this node")
	}
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return err
	}
	var info *siteInfo
	err = tenants.InSite(ctx, d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		info, err = loadSite(ctx, tx, site, d.Sealer)
		return err
	})
	if err != nil {
		return err
	}
	c, ok := info.contacts[contact]
	if !ok {
		return errs.E(errs.NotFound, "no contact named %q", contact)
	}
	params, err := info.contactParams(c)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "channel settings")
	}
	ch, ok := d.Channels.Lookup(channel)
	if !ok {
		return errs.E(errs.Invalid, "unknown channel %q (have: %v)", channel, d.Channels.Names())
	}
	to := d.Channels.recipient(c)
	if !ch.Reachable(to, params) {
		return errs.E(errs.Invalid, "contact %q cannot be reached by %s: its address or the site's %s settings are missing", contact, channel, channel)
	}
	nf, err := d.Channels.Notifier(channel, params)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, channel)
	}
	timeout := d.SendTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := "test-" + uuid.NewString()
	var sendErr error
	if tst, ok := nf.(notifiers.Tester); ok {
		sendErr = tst.Test(sctx, to)
	} else {
		n := notifiers.TestNotification(info.name)
		n.IdempotencyKey = key
		sendErr = nf.Send(sctx, n, to)
	}
	result, msg := StateSent, ""
	if sendErr != nil {
		result, msg = StateFailed, sendErr.Error()
	}
	_ = tenants.InSite(ctx, d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		err := store.LogTestSend(ctx, tx, site, contact, channel, key, result, msg)
		return err
	})
	if sendErr != nil {
		return errs.Wrap(errs.Invalid, sendErr, fmt.Sprintf("test notification to %s by %s failed", contact, channel))
	}
	return nil
}
