package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
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
	notices, err := store.ClaimAckNotices(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []NotifyArgs
	for _, n := range notices {
		alert := n.Alert
		a := NotifyArgs{Site: site, Type: notifiers.TypeAcknowledgement, Check: n.Check, Status: n.Status, Output: n.Output,
			Since: n.Since, Time: n.At, Author: n.Author, Comment: n.Comment}
		st := n.Machine
		if st.Suppressed || st.InDowntime {
			continue
		}
		a.Alert, a.Escalated = &alert, st.Escalated
		a.Comment = strings.TrimPrefix(a.Comment, "Acknowledged: ")
		a.ID = notificationID(a)
		out = append(out, a)
	}
	return out, nil
}

// strandedDigests re-queues digests for deliveries batched more than two
// windows ago whose digest was missed (a batch committed just after its
// window's digest ran).
func (s *Sweeper) strandedDigests(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time) []river.InsertManyParams {
	pairs, err := store.BatchedRecipients(ctx, tx, now.Add(-2*s.d.RateWindow))
	if err != nil {
		return nil
	}
	w := s.d.RateWindow.Milliseconds()
	var out []river.InsertManyParams
	for _, p := range pairs {
		out = append(out, river.InsertManyParams{Args: DigestArgs{Site: site, Recipient: p[0], Channel: p[1], Bucket: -(now.UnixMilli() / w * w)}})
	}
	return out
}
