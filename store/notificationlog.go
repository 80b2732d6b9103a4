package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotificationAttempt is one delivery attempt of a notification.
type NotificationAttempt struct {
	ID        string
	CheckID   *string
	AlertID   *string
	Kind      string
	Recipient string
	Channel   string
	Attempt   int
	Result    string
	Error     *string
	At        time.Time
}

// Cursor is the attempt's position in NotificationLog's order, for after.
func (a *NotificationAttempt) Cursor() string {
	id, _ := strconv.ParseInt(a.ID, 10, 64)
	return encodeKey(timeKey[int64]{At: a.At, ID: id})
}

// NotificationLog lists a page of first of the site's delivery attempts
// (one check's when checkID is set; only those not sent when failed),
// newest first (by time, then id), after the cursor after (a
// NotificationAttempt.Cursor; "" for the first page); more tells whether
// attempts follow.
func NotificationLog(ctx context.Context, tx pgx.Tx, checkID string, failed bool, first int, after string) (page []*NotificationAttempt, more bool, err error) {
	if err := NotificationsPage.Check(first); err != nil {
		return nil, false, err
	}
	var c conds
	if checkID != "" {
		id, err := ParseID(checkID)
		if err != nil {
			return nil, false, err
		}
		c.add("check_id = ?", id)
	}
	if failed {
		c.add("result <> 'sent'")
	}
	if after != "" {
		k, err := decodeTimeKey[int64](after)
		if err != nil {
			return nil, false, err
		}
		c.add("(at, id) < (?::timestamptz, ?::bigint)", k.At, k.ID)
	}
	// id is selected as itself: an id::text output column would make
	// ORDER BY id sort the text.
	rows, err := tx.Query(ctx, `SELECT id, check_id::text, alert_id::text, kind, recipient, channel, attempt, result, NULLIF(error, ''), at
		FROM notification_log WHERE `+c.where()+` ORDER BY at DESC, id DESC `+c.limit(first), c.args...)
	if err != nil {
		return nil, false, fmt.Errorf("reading the delivery log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*NotificationAttempt, error) {
		var a NotificationAttempt
		var id int64
		err := r.Scan(&id, &a.CheckID, &a.AlertID, &a.Kind, &a.Recipient, &a.Channel, &a.Attempt, &a.Result, &a.Error, &a.At)
		a.ID = strconv.FormatInt(id, 10)
		return &a, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("reading the delivery log: %w", err)
	}
	page, more = trimPage(out, first)
	return page, more, nil
}
