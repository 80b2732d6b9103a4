package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Sweeper periodically (Dispatcher.SweepEvery) queues what no result
// triggers: acknowledgement notices for alerts acknowledged through the API
// or an ack link, and digests left behind. (Escalations that fall due are
// raised by the serve nodes' jobs.EscalationSweep, which writes the check
// state, and reach the notifier through Sink.)
// Several notifier nodes may sweep at once: claims are row-locked and
// deliveries are idempotent.
type Sweeper struct {
	d *Dispatcher
	// River inserts the jobs (an insert-only client is enough).
	River *river.Client[pgx.Tx]
}

// NewSweeper returns a sweeper for d inserting with rc.
func (d *Dispatcher) NewSweeper(rc *river.Client[pgx.Tx]) *Sweeper {
	d.defaults()
	return &Sweeper{d: d, River: rc}
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.d.SweepEvery)
	defer t.Stop()
	for {
		if err := s.SweepOnce(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.d.Logger.ErrorContext(ctx, "notification sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce sweeps every enabled site once, as of now.
func (s *Sweeper) SweepOnce(ctx context.Context, now time.Time) error {
	rows, err := s.d.Pool.Query(ctx, `SELECT id FROM sites WHERE NOT disabled`)
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	sites, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	for _, site := range sites {
		sctx := tenants.WithSite(ctx, site)
		err := tenants.InSite(sctx, s.d.Pool, func(ctx context.Context, tx pgx.Tx) error {
			acks, err := s.acknowledgements(ctx, tx, site)
			if err != nil {
				return err
			}
			params := make([]river.InsertManyParams, 0, len(acks))
			for _, a := range acks {
				params = append(params, river.InsertManyParams{Args: a})
			}
			params = append(params, s.strandedDigests(ctx, tx, site, now)...)
			if len(params) == 0 {
				return nil
			}
			_, err = s.River.InsertManyTx(ctx, tx, params)
			return err
		})
		if err != nil {
			return fmt.Errorf("site %s: %w", site, err)
		}
	}
	return nil
}

// acknowledgements claims alerts acknowledged since their last notice.
func (s *Sweeper) acknowledgements(ctx context.Context, tx pgx.Tx, site uuid.UUID) ([]NotifyArgs, error) {
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
	var out []NotifyArgs
	for rows.Next() {
		var alert uuid.UUID
		a := NotifyArgs{Site: site, Type: notifiers.TypeAcknowledgement}
		var machine []byte
		if err := rows.Scan(&alert, &a.Check, &a.Status, &a.Output, &a.Since, &a.Time, &a.Author, &a.Comment, &machine); err != nil {
			return nil, fmt.Errorf("claiming acknowledgements: %w", err)
		}
		var st monitor.State
		_ = json.Unmarshal(machine, &st)
		if st.Suppressed || st.InDowntime {
			continue
		}
		a.Alert, a.Escalated = &alert, st.Escalated
		a.Comment = strings.TrimPrefix(a.Comment, "Acknowledged: ")
		a.ID = notificationID(a)
		out = append(out, a)
	}
	return out, rows.Err()
}

// strandedDigests re-queues digests for deliveries batched more than two
// windows ago whose digest was missed (a batch committed just after its
// window's digest ran).
func (s *Sweeper) strandedDigests(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time) []river.InsertManyParams {
	rows, err := tx.Query(ctx, `SELECT DISTINCT recipient, channel FROM notification_deliveries
		WHERE state = 'batched' AND decided_at < $1`, now.Add(-2*s.d.RateWindow))
	if err != nil {
		return nil
	}
	defer rows.Close()
	w := s.d.RateWindow.Milliseconds()
	var out []river.InsertManyParams
	for rows.Next() {
		var recipient, channel string
		if rows.Scan(&recipient, &channel) == nil {
			out = append(out, river.InsertManyParams{Args: DigestArgs{Site: site, Recipient: recipient, Channel: channel, Bucket: -(now.UnixMilli() / w * w)}})
		}
	}
	return out
}
