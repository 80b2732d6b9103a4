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
	"github.com/bergamot-monitoring/bergamot/store"
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

// NextRetry waits Dispatcher.Backoff(attempt) before the next attempt, or
// a second for a job rescued from a dead notifier (see retryAt).
func (w *DeliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return w.d.retryAt(job.Attempt, job.AttemptedAt)
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
	row, err := store.LockDelivery(ctx, tx, a.Key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading delivery: %w", err)
	}
	del := &delivery{key: a.Key, state: row.State, kind: row.Kind, recipient: row.Recipient, channel: row.Channel, check: row.Check, alert: row.Alert}
	body := row.Payload
	if del.state != StatePending && del.state != StateSending {
		return nil, nil
	}
	sent, err := store.DeliverySentBefore(ctx, tx, a.Key)
	if err != nil {
		return nil, fmt.Errorf("checking delivery log: %w", err)
	}
	if sent {
		return nil, store.MarkDeliverySent(ctx, tx, a.Key)
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
		decided, err := store.CountRateDecision(ctx, tx, a.Site, del.recipient, del.channel, bucket)
		if err != nil {
			return nil, fmt.Errorf("rate limit: %w", err)
		}
		if decided > w.d.RateLimit {
			return nil, w.d.batch(ctx, tx, a.Site, del, bucket, decided == w.d.RateLimit+1)
		}
	}
	if err := store.MarkDeliverySending(ctx, tx, a.Key); err != nil {
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
	if err := store.MarkDeliveryBatched(ctx, tx, del.key); err != nil {
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
		return store.SetDeliveryState(ctx, tx, del.key, state)
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
	return store.LogNotification(ctx, tx, site, store.LogEntry{Check: del.check, Alert: del.alert, Kind: del.kind, Recipient: del.recipient,
		Channel: del.channel, Key: key, Attempt: attempt, Result: result, Error: msg})
}
