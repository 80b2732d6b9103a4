package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Delivery states (notification_deliveries.state) and log results
// (notification_log.result).
const (
	StatePending   = "pending"
	StateSending   = "sending"
	StateSent      = "sent"
	StateFailed    = "failed"
	StateBatched   = "batched"
	StateDigesting = "digesting"
	StateDigested  = "digested"
	// ResultRetry is logged for a transient failure that will be retried.
	ResultRetry = "retry"
)

// DeliverWorker sends one delivery.
type DeliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	d *Dispatcher
}

// NextRetry waits Dispatcher.Backoff(attempt) before the next attempt.
func (w *DeliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.d.Backoff(job.Attempt))
}

// delivery is one notification_deliveries row.
type delivery struct {
	key, state, kind, recipient, channel string
	check, alert                         *uuid.UUID
	p                                    payload
}

// rateLimited lists the types that count against (and are held back by)
// the per-recipient rate limit.
func rateLimited(kind string) bool {
	switch notifiers.Type(kind) {
	case notifiers.TypeAlert, notifiers.TypeEscalation, notifiers.TypeRecovery:
		return true
	}
	return false
}

// Work decides (under a per-recipient lock) whether the delivery goes now
// or joins a digest, sends it, and records the attempt.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	a := job.Args
	ctx = tenants.WithSite(ctx, a.Site)
	var del *delivery
	var site *siteInfo
	err := tenants.InSite(ctx, w.d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		del, err = w.decide(ctx, tx, a, job)
		if err != nil || del == nil {
			return err
		}
		site, err = w.d.sites.load(ctx, tx, a.Site, w.d.Sealer)
		return err
	})
	if err != nil || del == nil {
		return err
	}
	sendErr := w.d.send(ctx, site, del.recipient, del.channel, &del.p)
	return w.d.record(ctx, a.Site, job.Attempt, job.MaxAttempts, del, sendErr)
}

// decide locks the delivery and returns it when it is to be sent now; nil
// when it is done already or was batched into a digest.
func (w *DeliverWorker) decide(ctx context.Context, tx pgx.Tx, a DeliverArgs, job *river.Job[DeliverArgs]) (*delivery, error) {
	del := &delivery{key: a.Key}
	var body []byte
	err := tx.QueryRow(ctx, `SELECT state, kind, recipient, channel, check_id, alert_id, payload FROM notification_deliveries
		WHERE idempotency = $1 FOR UPDATE`, a.Key).Scan(&del.state, &del.kind, &del.recipient, &del.channel, &del.check, &del.alert, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading delivery: %w", err)
	}
	if del.state != StatePending && del.state != StateSending {
		return nil, nil
	}
	var sent bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM notification_log WHERE idempotency = $1 AND result = 'sent')`, a.Key).Scan(&sent); err != nil {
		return nil, fmt.Errorf("checking delivery log: %w", err)
	}
	if sent {
		_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'sent', done_at = now() WHERE idempotency = $1`, a.Key)
		return nil, err
	}
	if err := json.Unmarshal(body, &del.p); err != nil {
		return nil, river.JobCancel(fmt.Errorf("delivery %s: unreadable payload: %w", a.Key, err))
	}
	del.p.N.Templates = nil
	if del.state == StatePending && rateLimited(del.kind) {
		// Fixed windows: the upsert row-locks the counter until commit, so
		// exactly RateLimit deliveries per window go out alone.
		win := w.d.RateWindow.Milliseconds()
		bucket := time.Now().UnixMilli() / win * win
		var decided int
		if err := tx.QueryRow(ctx, `INSERT INTO notification_rates (site_id, recipient, channel, bucket, decided) VALUES ($1, $2, $3, $4, 1)
			ON CONFLICT (site_id, recipient, channel, bucket) DO UPDATE SET decided = notification_rates.decided + 1 RETURNING decided`,
			a.Site, del.recipient, del.channel, bucket).Scan(&decided); err != nil {
			return nil, fmt.Errorf("rate limit: %w", err)
		}
		if decided > w.d.RateLimit {
			return nil, w.d.batch(ctx, tx, a.Site, del, bucket, decided == w.d.RateLimit+1)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'sending', decided_at = COALESCE(decided_at, now())
		WHERE idempotency = $1`, a.Key); err != nil {
		return nil, fmt.Errorf("claiming delivery: %w", err)
	}
	return del, nil
}

func lockName(site uuid.UUID, recipient, channel string) string {
	return "bergamot-notify/" + site.String() + "/" + recipient + "/" + channel
}

// batch holds a delivery back for the digest closing window bucket; the
// first delivery batched in a window schedules that digest.
func (d *Dispatcher) batch(ctx context.Context, tx pgx.Tx, site uuid.UUID, del *delivery, bucket int64, first bool) error {
	if _, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = 'batched', decided_at = now() WHERE idempotency = $1`, del.key); err != nil {
		return fmt.Errorf("batching delivery: %w", err)
	}
	if !first {
		return nil
	}
	rc := river.ClientFromContext[pgx.Tx](ctx)
	_, err := rc.InsertTx(ctx, tx, DigestArgs{Site: site, Recipient: del.recipient, Channel: del.channel, Bucket: bucket},
		&river.InsertOpts{Queue: Queue, ScheduledAt: time.UnixMilli(bucket + d.RateWindow.Milliseconds()), MaxAttempts: d.MaxAttempts,
			UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		return fmt.Errorf("scheduling digest: %w", err)
	}
	return nil
}

// send delivers one notification to the contact named recipient.
func (d *Dispatcher) send(ctx context.Context, site *siteInfo, recipient, channel string, p *payload) error {
	c, ok := site.contacts[recipient]
	if !ok {
		c = &config.Contact{Name: recipient}
	}
	params, err := site.contactParams(c)
	if err != nil {
		return notifiers.Permanent(err)
	}
	nf, err := d.Channels.Notifier(channel, params)
	if err != nil {
		return err
	}
	n := p.N
	n.Templates, err = d.siteTemplates.forSite(d.Templates, site.params)
	if err != nil {
		return notifiers.Permanent(err)
	}
	sctx, cancel := context.WithTimeout(ctx, d.SendTimeout)
	defer cancel()
	return nf.Send(sctx, &n, p.To)
}

// record logs an attempt and moves the delivery on. It returns what the
// River job should: nil when done, JobCancel for a permanent failure,
// the error for a retry.
func (d *Dispatcher) record(ctx context.Context, site uuid.UUID, attempt, maxAttempts int, del *delivery, sendErr error) error {
	result, state := StateSent, StateSent
	msg := ""
	switch {
	case sendErr == nil:
	case notifiers.IsPermanent(sendErr) || attempt >= maxAttempts:
		result, state, msg = StateFailed, StateFailed, sendErr.Error()
	default:
		result, state, msg = ResultRetry, StateSending, sendErr.Error()
	}
	err := tenants.InSite(ctx, d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := d.log(ctx, tx, site, del, del.key, attempt, result, msg); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET state = $2, done_at = CASE WHEN $2 IN ('sent', 'failed') THEN now() END
			WHERE idempotency = $1`, del.key, state)
		return err
	})
	if err != nil {
		return fmt.Errorf("recording delivery: %w", err)
	}
	metrics.Notification(del.channel, result)
	switch result {
	case StateSent:
		return nil
	case StateFailed:
		d.Logger.WarnContext(ctx, "notification failed", slog.String("recipient", del.recipient), slog.String("channel", del.channel), slog.Any("error", sendErr))
		return river.JobCancel(sendErr)
	}
	return sendErr
}

// log writes one notification_log row.
func (d *Dispatcher) log(ctx context.Context, tx pgx.Tx, site uuid.UUID, del *delivery, key string, attempt int, result, msg string) error {
	_, err := tx.Exec(ctx, `INSERT INTO notification_log (site_id, check_id, alert_id, kind, recipient, channel, idempotency, attempt, result, error)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
		site, del.check, del.alert, del.kind, del.recipient, del.channel, key, attempt, result, msg)
	if err != nil {
		return fmt.Errorf("writing notification log: %w", err)
	}
	return nil
}
