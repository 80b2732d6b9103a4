package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/metrics/export"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Exporter ships every site's performance data to its <metrics-export>
// targets (docs/metrics-export.md). The result processor puts each point
// in the PostgreSQL outbox (metric_export_queue) in the transaction that
// stores it; the exporter sends the oldest points of a target in batches,
// and deletes them in the transaction that holds the target's row lock
// while the request is made. So shipping survives restarts, several
// notifier nodes share the targets without sending a batch twice at the
// same time, and a node that dies between the receiver's answer and its
// commit leaves the batch to be sent again: delivery is at least once
// (Prometheus ignores a sample it already has; an OTLP receiver may count
// it twice).
//
// A failed request is retried with exponential backoff and jitter; while
// a target fails its points wait in the outbox, at most its buffer: each
// pass deletes the oldest beyond it and counts them as dropped. A batch
// the receiver refuses for good (400, 409, 413, 422) is dropped and
// counted too. Every notifier role runs one.
type Exporter struct {
	Pool      *pgxpool.Pool
	Sealer    *store.Sealer
	Protocols *export.Registry
	Sender    *export.Sender
	Logger    *slog.Logger
	// Every is the pause between passes (default 2s).
	Every time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure (default
	// 1s and 5m); it doubles with every failure in a row.
	MinBackoff, MaxBackoff time.Duration
	// Budget is how long one pass keeps sending one target's backlog
	// (default 10s).
	Budget time.Duration
	// OwnEvery is how often each site's own series (store.OwnSeries:
	// checks by status, schedule lateness, notifications by result, ...)
	// are queued for its targets; 0 queues none. The notifier role sets
	// 30s (BERGAMOT_EXPORT_OWN_EVERY).
	OwnEvery time.Duration
}

// Run ships every Every until ctx ends.
func (e *Exporter) Run(ctx context.Context) error {
	every := e.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	return runEvery(ctx, e.logger(), every, nil, "metrics export", e.RunOnce)
}

func (e *Exporter) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// RunOnce makes one pass over every site's enabled targets and returns
// how many points it delivered.
func (e *Exporter) RunOnce(ctx context.Context) (int, error) {
	sites, err := store.ExportSites(ctx, e.Pool)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, site := range sites {
		sctx := tenants.WithSite(ctx, site)
		var targets []store.ExportTarget
		if err := tenants.InSite(sctx, e.Pool, func(ctx context.Context, tx pgx.Tx) error {
			if e.OwnEvery > 0 {
				if _, err := store.QueueOwnSeries(ctx, tx, e.OwnEvery); err != nil {
					return err
				}
			}
			var err error
			targets, err = store.ExportTargets(ctx, tx)
			return err
		}); err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", site, err))
			continue
		}
		for _, t := range targets {
			budget := e.Budget
			if budget <= 0 {
				budget = 10 * time.Second
			}
			deadline := time.Now().Add(budget)
			for {
				n, more, err := e.shipOne(sctx, t.ID)
				total += n
				if err != nil {
					errs = append(errs, fmt.Errorf("site %s export %q: %w", site, t.Name, err))
				}
				if err != nil || !more || time.Now().After(deadline) || ctx.Err() != nil {
					break
				}
			}
		}
	}
	return total, errors.Join(errs...)
}

// shipOne sends one batch of target id, if it is due and no other node
// holds it. more says whether a full batch went out (more may wait).
// Failures of the receiver are recorded on the target, not returned.
func (e *Exporter) shipOne(ctx context.Context, id uuid.UUID) (sent int, more bool, err error) {
	err = tenants.InSite(ctx, e.Pool, func(ctx context.Context, tx pgx.Tx) error {
		t, ok, err := store.ClaimExport(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		log := e.logger().With(slog.String("export", t.Name), slog.String("protocol", t.Protocol))
		if site, err := tenants.SiteFrom(ctx); err == nil {
			log = log.With(slog.String("site", site.String()))
		}
		dropped, err := store.TrimExport(ctx, tx, t.ID, t.Buffer)
		if err != nil {
			return err
		}
		if dropped > 0 {
			metrics.ExportPoints(t.Protocol, metrics.ExportDropped, int(dropped))
			log.WarnContext(ctx, "metrics export buffer full: oldest points dropped", slog.Int64("dropped", dropped), slog.Int("buffer", t.Buffer))
		}
		batch, err := store.ExportBatch(ctx, tx, t.ID, t.Batch)
		if err != nil || len(batch) == 0 {
			return err
		}
		last := batch[len(batch)-1].ID
		points := make([]export.Point, 0, len(batch))
		for _, p := range batch {
			if p.Series != "" {
				points = append(points, export.Point{Name: p.Series, Attrs: p.Attrs, At: p.At, Value: p.Value})
				continue
			}
			if p.Host == "" {
				continue // its check was deleted
			}
			points = append(points, export.Point{Host: p.Host, Service: p.Service, Label: p.Label, Unit: p.Unit, At: p.At, Value: p.Value})
		}
		proto, ok := e.Protocols.Lookup(t.Protocol)
		if !ok {
			return e.failed(ctx, tx, log, t, fmt.Errorf("protocol %q is not available on this node", t.Protocol))
		}
		target := export.Target{URL: t.URL, Auth: t.Auth}
		if t.Auth == "bearer" || t.Auth == "basic" {
			fields, err := store.OpenCredential(ctx, tx, e.Sealer, t.Credential)
			if err != nil {
				return e.failed(ctx, tx, log, t, fmt.Errorf("opening credential: %w", err))
			}
			target.Username, target.Password = fields["username"], fields["password"]
		}
		if len(points) > 0 {
			if err := e.Sender.Send(ctx, proto, target, points); err != nil {
				if export.Retryable(err) {
					return e.failed(ctx, tx, log, t, err)
				}
				metrics.ExportPoints(t.Protocol, metrics.ExportRejected, len(points))
				log.WarnContext(ctx, "metrics export batch rejected: dropped", slog.Int("points", len(points)), slog.Any("error", err))
				more = len(batch) == t.Batch
				return store.ExportRejected(ctx, tx, t.ID, last, len(points), err.Error())
			}
		}
		metrics.ExportPoints(t.Protocol, metrics.ExportSent, len(points))
		sent, more = len(points), len(batch) == t.Batch
		return store.ExportDelivered(ctx, tx, t.ID, last, len(points))
	})
	return sent, more, err
}

// failed records a retryable failure of t: its next attempt waits an
// exponential backoff with jitter.
func (e *Exporter) failed(ctx context.Context, tx pgx.Tx, log *slog.Logger, t store.ExportTarget, cause error) error {
	metrics.ExportFailed(t.Protocol)
	wait := e.backoff(t.Failures + 1)
	log.WarnContext(ctx, "metrics export failed: retrying", slog.Any("error", cause), slog.Int("failures", t.Failures+1), slog.Duration("retry_in", wait))
	return store.ExportFailed(ctx, tx, t.ID, time.Now().Add(wait), cause.Error())
}

// backoff is the wait after the n-th failure in a row: MinBackoff doubled
// n-1 times, at most MaxBackoff, of which a random half is taken off
// (jitter, so that targets failing together do not retry together).
func (e *Exporter) backoff(n int) time.Duration {
	lo, hi := e.MinBackoff, e.MaxBackoff
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 5 * time.Minute
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}
