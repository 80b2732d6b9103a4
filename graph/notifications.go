package graph

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
)

func (r *Resolver) notificationLog(ctx context.Context, first int, checkID *string, failed bool) ([]*model.NotificationAttempt, error) {
	if first < 1 || first > 1000 {
		return nil, errs.E(errs.Invalid, "first must be between 1 and 1000")
	}
	var check any
	if checkID != nil {
		id, err := store.ParseID(*checkID)
		if err != nil {
			return nil, err
		}
		check = id
	}
	out := []*model.NotificationAttempt{}
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, check_id::text, alert_id::text, kind, recipient, channel, attempt, result, error, at
			FROM notification_log WHERE ($1::uuid IS NULL OR check_id = $1) AND (NOT $2 OR result <> 'sent')
			ORDER BY at DESC, id DESC LIMIT $3`, check, failed, first)
		if err != nil {
			return fmt.Errorf("reading the delivery log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a model.NotificationAttempt
			var id int64
			var msg string
			if err := rows.Scan(&id, &a.CheckID, &a.AlertID, &a.Kind, &a.Recipient, &a.Channel, &a.Attempt, &a.Result, &msg, &a.At); err != nil {
				return fmt.Errorf("reading the delivery log: %w", err)
			}
			a.ID = fmt.Sprint(id)
			a.Error = optString(msg)
			out = append(out, &a)
		}
		return rows.Err()
	})
	return out, err
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
