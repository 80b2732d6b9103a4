package graph

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
)

func (r *Resolver) notificationLog(ctx context.Context, first *int, after, checkID *string, failed bool) ([]*store.NotificationAttempt, error) {
	return listPage(ctx, r, store.NotificationsPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.NotificationAttempt, bool, error) {
		return store.NotificationLog(ctx, tx, deref(checkID, ""), failed, first, after)
	})
}

// TestSender sends test notifications (the notification dispatcher).
type TestSender interface {
	SendTest(ctx context.Context, contact, channel string) error
}

func (r *Resolver) sendTestNotification(ctx context.Context, contact, channel string) (bool, error) {
	if err := r.write(ctx, func(context.Context, pgx.Tx) error { return nil }); err != nil {
		return false, err
	}
	if r.Tests == nil {
		return false, errs.E(errs.Internal, "this server cannot send notifications")
	}
	if err := r.Tests.SendTest(ctx, contact, channel); err != nil {
		return false, err
	}
	return true, nil
}
