package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// digestLines bounds the problems listed one per line in a digest.
const digestLines = 50

// DigestWorker sends the deliveries held back by the rate limit as one
// message: the first in full, "and N more problems", and a list.
type DigestWorker struct {
	river.WorkerDefaults[DigestArgs]
	d *Dispatcher
}

// NextRetry waits Dispatcher.Backoff(attempt) before the next attempt, or
// a second for a job rescued from a dead notifier (see retryAt).
func (w *DigestWorker) NextRetry(job *river.Job[DigestArgs]) time.Time {
	return w.d.retryAt(job.Attempt, job.AttemptedAt)
}

// Work claims every batched delivery of the recipient and channel (and
// those it claimed in an earlier attempt), sends the digest and records
// the outcome for each.
func (w *DigestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	a := job.Args
	ctx = tenants.WithSite(ctx, a.Site)
	var members []*delivery
	var site *siteInfo
	err := tenants.InSite(ctx, w.d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, lockName(a.Site, a.Recipient, a.Channel)); err != nil {
			return fmt.Errorf("digest lock: %w", err)
		}
		rows, err := store.LockDigestMembers(ctx, tx, a.Recipient, a.Channel, job.ID)
		if err != nil {
			return fmt.Errorf("collecting digest: %w", err)
		}
		for _, row := range rows {
			del := &delivery{key: row.Key, kind: row.Kind, recipient: a.Recipient, channel: a.Channel, check: row.Check, alert: row.Alert}
			if json.Unmarshal(row.Payload, &del.p) != nil {
				continue
			}
			del.p.N.Templates = nil
			members = append(members, del)
		}
		if len(members) == 0 {
			return nil
		}
		keys := make([]string, len(members))
		for i, m := range members {
			keys[i] = m.key
		}
		if err := store.ClaimForDigest(ctx, tx, keys, job.ID); err != nil {
			return fmt.Errorf("claiming digest: %w", err)
		}
		site, err = w.d.sites.load(ctx, tx, a.Site, w.d.Sealer)
		return err
	})
	if err != nil || len(members) == 0 {
		return err
	}
	p := digestPayload(members)
	sendErr := w.d.send(ctx, site, a.Recipient, a.Channel, p)
	return w.d.recordDigest(ctx, job, members, p.N.IdempotencyKey, sendErr)
}

// digestPayload builds the summary notification of members (in order).
func digestPayload(members []*delivery) *payload {
	first := members[0].p
	p := &payload{N: first.N, To: first.To}
	p.N.More = len(members) - 1
	p.N.IdempotencyKey = notifiers.IdempotencyKey("digest/"+members[0].key, members[0].recipient, members[0].channel)
	var b strings.Builder
	if first.N.LongOutput != "" {
		b.WriteString(first.N.LongOutput)
		b.WriteString("\n")
	}
	if len(members) > 1 {
		b.WriteString("\nAlso:\n")
	}
	for i, m := range members[1:] {
		if i == digestLines {
			fmt.Fprintf(&b, "... and %d more\n", len(members)-1-digestLines)
			break
		}
		n := m.p.N
		fmt.Fprintf(&b, "- %s: %s is %s: %s\n", n.Type.Title(), n.Check.Label(), n.Status, n.Output)
	}
	p.N.LongOutput = strings.TrimSpace(b.String())
	return p
}

// recordDigest logs the digest attempt and each member's fate.
func (d *Dispatcher) recordDigest(ctx context.Context, job *river.Job[DigestArgs], members []*delivery, key string, sendErr error) error {
	a := job.Args
	result, state, msg := StateSent, StateDigested, ""
	switch {
	case sendErr == nil:
	case notifiers.IsPermanent(sendErr) || job.Attempt >= job.MaxAttempts:
		result, state, msg = StateFailed, StateFailed, sendErr.Error()
	default:
		result, state, msg = ResultRetry, StateDigesting, sendErr.Error()
	}
	digest := &delivery{recipient: a.Recipient, channel: a.Channel, kind: "digest"}
	err := tenants.InSite(ctx, d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := d.log(ctx, tx, a.Site, digest, key, job.Attempt, result, msg); err != nil {
			return err
		}
		if state == StateDigesting {
			return nil
		}
		memberResult := StateDigested
		if state == StateFailed {
			memberResult = StateFailed
		}
		for _, m := range members {
			if err := d.log(ctx, tx, a.Site, m, m.key, 1, memberResult, msg); err != nil {
				return err
			}
		}
		return store.FinishDigest(ctx, tx, job.ID, state)
	})
	if err != nil {
		return fmt.Errorf("recording digest: %w", err)
	}
	metrics.Notification(a.Channel, result)
	switch result {
	case StateSent:
		return nil
	case StateFailed:
		return river.JobCancel(sendErr)
	}
	return sendErr
}
