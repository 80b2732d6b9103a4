package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// This file holds the notification dispatcher's SQL
// (notifiers/dispatch): notification_deliveries (one row per notification
// and recipient channel, moving pending -> sending -> sent or failed, or
// batched -> digesting -> digested), notification_rates (the per-recipient
// rate limit's windows), notification_log writes (reads are in
// notificationlog.go) and ack_tokens_used (acknowledgement links used).

// Delivery is a notification_deliveries row; Payload is the dispatcher's
// JSON.
type Delivery struct {
	Key, State, Kind, Recipient, Channel string
	Check, Alert                         *uuid.UUID
	Payload                              []byte
}

// InsertDelivery records a new pending delivery; false when one with its
// key exists already.
func InsertDelivery(ctx context.Context, tx pgx.Tx, site uuid.UUID, d Delivery) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO notification_deliveries (site_id, idempotency, check_id, alert_id, kind, recipient, channel, payload)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING`, site, d.Key, d.Check, d.Alert, d.Kind, d.Recipient, d.Channel, d.Payload)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// LockDelivery reads and locks (FOR UPDATE) delivery key; pgx.ErrNoRows
// when there is none.
func LockDelivery(ctx context.Context, tx pgx.Tx, key string) (*Delivery, error) {
	d := &Delivery{Key: key}
	err := tx.QueryRow(ctx, `SELECT state, kind, recipient, channel, check_id, alert_id, payload FROM notification_deliveries
		WHERE idempotency = $1 FOR UPDATE`, key).Scan(&d.State, &d.Kind, &d.Recipient, &d.Channel, &d.Check, &d.Alert, &d.Payload)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeliverySentBefore reports whether the log holds a successful attempt
// of delivery key.
func DeliverySentBefore(ctx context.Context, tx pgx.Tx, key string) (bool, error) {
	var sent bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notification_log WHERE idempotency = $1 AND result = 'sent')`, key).Scan(&sent)
	return sent, err
}

// MarkDeliverySent marks delivery key sent (and done).
func MarkDeliverySent(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'sent', done_at = now() WHERE idempotency = $1`, key)
	return err
}

// MarkDeliverySending marks delivery key as being sent, deciding it now
// unless decided already.
func MarkDeliverySending(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'sending', decided_at = COALESCE(decided_at, now())
		WHERE idempotency = $1`, key)
	return err
}

// MarkDeliveryBatched holds delivery key back for a digest.
func MarkDeliveryBatched(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'batched', decided_at = now() WHERE idempotency = $1`, key)
	return err
}

// SetDeliveryState moves delivery key to state; sent and failed are done.
func SetDeliveryState(ctx context.Context, tx pgx.Tx, key, state string) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = $2, done_at = CASE WHEN $2 IN ('sent', 'failed') THEN now() END
		WHERE idempotency = $1`, key, state)
	return err
}

// CountRateDecision counts one more delivery decided for recipient and
// channel in the rate window bucket and returns the count; the upsert
// row-locks the counter until commit.
func CountRateDecision(ctx context.Context, tx pgx.Tx, site uuid.UUID, recipient, channel string, bucket int64) (int, error) {
	var decided int
	err := tx.QueryRow(ctx, `INSERT INTO notification_rates (site_id, recipient, channel, bucket, decided) VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (site_id, recipient, channel, bucket) DO UPDATE SET decided = notification_rates.decided + 1 RETURNING decided`,
		site, recipient, channel, bucket).Scan(&decided)
	return decided, err
}

// LockDigestMembers reads and locks the deliveries to recipient on channel
// batched for a digest, or claimed by digest job earlier, oldest first.
func LockDigestMembers(ctx context.Context, tx pgx.Tx, recipient, channel string, job int64) ([]*Delivery, error) {
	rows, err := tx.Query(ctx, `SELECT idempotency, kind, check_id, alert_id, payload FROM notification_deliveries
		WHERE recipient = $1 AND channel = $2 AND (state = 'batched' OR (state = 'digesting' AND digest_job = $3))
		ORDER BY created_at, idempotency FOR UPDATE`, recipient, channel, job)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		d := &Delivery{Recipient: recipient, Channel: channel}
		if err := rows.Scan(&d.Key, &d.Kind, &d.Check, &d.Alert, &d.Payload); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ClaimForDigest marks the deliveries keys as in digest job.
func ClaimForDigest(ctx context.Context, tx pgx.Tx, keys []string, job int64) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'digesting', digest_job = $2 WHERE idempotency = ANY ($1)`, keys, job)
	return err
}

// FinishDigest moves the deliveries of digest job to state (done).
func FinishDigest(ctx context.Context, tx pgx.Tx, job int64, state string) error {
	_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = $2, done_at = now() WHERE digest_job = $1 AND state = 'digesting'`, job, state)
	return err
}

// BatchedRecipients returns the recipient and channel pairs with
// deliveries batched before before (whose digest may have been lost).
func BatchedRecipients(ctx context.Context, tx pgx.Tx, before time.Time) ([][2]string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT recipient, channel FROM notification_deliveries
		WHERE state = 'batched' AND decided_at < $1`, before)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var p [2]string
		err := r.Scan(&p[0], &p[1])
		return p, err
	})
}

// LogEntry is one notification_log row.
type LogEntry struct {
	Check, Alert                                 *uuid.UUID
	Kind, Recipient, Channel, Key, Result, Error string
	Attempt                                      int
}

// LogNotification writes one notification_log row (once per key and
// attempt).
func LogNotification(ctx context.Context, tx pgx.Tx, site uuid.UUID, e LogEntry) error {
	_, err := tx.Exec(ctx, `INSERT INTO notification_log (site_id, check_id, alert_id, kind, recipient, channel, idempotency, attempt, result, error)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
		site, e.Check, e.Alert, e.Kind, e.Recipient, e.Channel, e.Key, e.Attempt, e.Result, e.Error)
	if err != nil {
		return fmt.Errorf("writing notification log: %w", err)
	}
	return nil
}

// LogTestSend writes the notification_log row of a test notification.
func LogTestSend(ctx context.Context, tx pgx.Tx, site uuid.UUID, contact, channel, key, result, msg string) error {
	_, err := tx.Exec(ctx, `INSERT INTO notification_log (site_id, kind, recipient, channel, idempotency, result, error)
		VALUES ($1, 'test', $2, $3, $4, $5, $6)`, site, contact, channel, key, result, msg)
	return err
}

// AckAlert is what an acknowledgement link needs of its alert.
type AckAlert struct {
	Check               uuid.UUID
	Recovered, Acked    bool
	CheckName, HostName string
}

// LoadAckAlert reads alert; pgx.ErrNoRows when it is gone.
func LoadAckAlert(ctx context.Context, tx pgx.Tx, alert uuid.UUID) (AckAlert, error) {
	var a AckAlert
	err := tx.QueryRow(ctx, `SELECT a.check_id, a.recovered_at IS NOT NULL, a.acknowledged_at IS NOT NULL, c.name, COALESCE(h.name, '')
		FROM alerts a JOIN checks c ON c.id = a.check_id LEFT JOIN checks h ON h.id = c.parent_id WHERE a.id = $1`, alert).
		Scan(&a.Check, &a.Recovered, &a.Acked, &a.CheckName, &a.HostName)
	return a, err
}

// AckTokenUsed reports whether the link token with hash was used.
func AckTokenUsed(ctx context.Context, tx pgx.Tx, hash []byte) (bool, error) {
	var used bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ack_tokens_used WHERE token_hash = $1)`, hash).Scan(&used)
	return used, err
}

// UseAckToken records that the link token with hash for alert was used.
func UseAckToken(ctx context.Context, tx pgx.Tx, site uuid.UUID, hash []byte, alert uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO ack_tokens_used (site_id, token_hash, alert_id) VALUES ($1, $2, $3)`, site, hash, alert)
	return err
}

// AckNotice is an alert acknowledged since its last acknowledgement
// notice, with its check's state machine.
type AckNotice struct {
	Alert, Check    uuid.UUID
	Status, Output  string
	Since, At       time.Time
	Author, Comment string
	Machine         monitor.State
}

// ClaimAckNotices marks the open alerts acknowledged since their last
// notice as notified and returns them; Comment is the latest
// acknowledgement comment ("Acknowledged: ..."), or "".
func ClaimAckNotices(ctx context.Context, tx pgx.Tx) ([]AckNotice, error) {
	rows, err := tx.Query(ctx, `UPDATE alerts a SET ack_notified_at = a.acknowledged_at
		WHERE a.recovered_at IS NULL AND a.acknowledged_at IS NOT NULL
		  AND (a.ack_notified_at IS NULL OR a.ack_notified_at < a.acknowledged_at)
		RETURNING a.id, a.check_id, a.status, a.output, a.opened_at, a.acknowledged_at, COALESCE(a.acknowledged_by, ''),
		  COALESCE((SELECT body FROM comments c WHERE c.alert_id = a.id AND c.body LIKE 'Acknowledged: %' ORDER BY c.created_at DESC LIMIT 1), ''),
		  (SELECT machine FROM check_state s WHERE s.check_id = a.check_id)`)
	if err != nil {
		return nil, fmt.Errorf("claiming acknowledgements: %w", err)
	}
	defer rows.Close()
	var out []AckNotice
	for rows.Next() {
		var n AckNotice
		var machine []byte
		if err := rows.Scan(&n.Alert, &n.Check, &n.Status, &n.Output, &n.Since, &n.At, &n.Author, &n.Comment, &machine); err != nil {
			return nil, fmt.Errorf("claiming acknowledgements: %w", err)
		}
		_ = json.Unmarshal(machine, &n.Machine)
		out = append(out, n)
	}
	return out, rows.Err()
}

// NotifyCheck is what a notification needs of its check.
type NotifyCheck struct {
	Kind, Name, Summary, Host string
	Settings                  []byte // JSON CheckSettings
}

// LoadNotifyCheck reads check id (Host is its parent's name, or "").
func LoadNotifyCheck(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*NotifyCheck, error) {
	c := &NotifyCheck{}
	err := tx.QueryRow(ctx, `SELECT c.kind, c.name, c.summary, c.settings, COALESCE(h.name, '')
		FROM checks c LEFT JOIN checks h ON h.id = c.parent_id WHERE c.id = $1`, id).
		Scan(&c.Kind, &c.Name, &c.Summary, &c.Settings, &c.Host)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SiteParameters returns site's name and the source of its <parameter>s
// header (config_objects kind _site; "" when it has none).
func SiteParameters(ctx context.Context, tx pgx.Tx, site uuid.UUID) (name, header string, err error) {
	err = tx.QueryRow(ctx, `SELECT s.name, COALESCE((SELECT source FROM config_objects WHERE kind = '_site' LIMIT 1), '')
		FROM sites s WHERE s.id = $1`, site).Scan(&name, &header)
	return name, header, err
}

// ContactSpec is a configured contact as stored: its email and phone
// columns and its JSON config.Contact.
type ContactSpec struct {
	Name, Email, Phone string
	Spec               []byte
}

// ContactSpecs reads tx's site's contacts.
func ContactSpecs(ctx context.Context, tx pgx.Tx) ([]ContactSpec, error) {
	rows, err := tx.Query(ctx, `SELECT name, email, phone, spec FROM contacts`)
	if err != nil {
		return nil, fmt.Errorf("loading contacts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ContactSpec, error) {
		var c ContactSpec
		err := r.Scan(&c.Name, &c.Email, &c.Phone, &c.Spec)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading contacts: %w", err)
	}
	return out, nil
}

// TeamParents maps each of tx's site's teams to its parent teams.
func TeamParents(ctx context.Context, tx pgx.Tx) (map[string][]string, error) {
	rows, err := tx.Query(ctx, `SELECT name, parents FROM teams`)
	if err != nil {
		return nil, fmt.Errorf("loading teams: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name string
		var parents []string
		if err := rows.Scan(&name, &parents); err != nil {
			return nil, fmt.Errorf("loading teams: %w", err)
		}
		out[name] = parents
	}
	return out, rows.Err()
}
