package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
)

// Dispatcher is the notifier role: it works the notifications queue and
// sweeps for acknowledgements and escalations. Zero-valued tuning fields
// take the documented defaults.
type Dispatcher struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Channels builds notifiers from site and contact parameters
	// (DefaultChannels when nil).
	Channels *Channels
	// Sealer decrypts the credentials channel parameters refer to.
	Sealer *store.Sealer
	// Templates renders messages (notifiers.DefaultTemplates when nil).
	Templates *notifiers.Templates

	siteTemplates siteTemplates
	// BaseURL is the public address of the dashboard, e.g.
	// "https://bergamot.example.com"; links are BaseURL+"/#/check/<id>" and
	// BaseURL+"/ack/<token>". Empty: no links.
	BaseURL string
	// AckKey signs acknowledgement links (no ack links when empty); AckTTL
	// is how long they stay valid (default 24h).
	AckKey []byte
	AckTTL time.Duration
	// RateLimit is how many messages one recipient gets on one channel per
	// RateWindow before further problems are summarised in a digest sent
	// at the end of the window (default 10 per minute).
	RateLimit  int
	RateWindow time.Duration
	// Backoff is the delay before retry attempt n of a transient failure
	// (default notifiers.Backoff); MaxAttempts bounds the attempts of one
	// delivery (default 8).
	Backoff     func(attempt int) time.Duration
	MaxAttempts int
	// SendTimeout bounds one send (default 60s).
	SendTimeout time.Duration
	// RescueAfter is how long a notification job may stay running before
	// another notifier presumes its notifier dead and takes it over
	// (default SendTimeout plus a minute; at least SendTimeout plus 35 s, past the job timeout).
	RescueAfter time.Duration
	// SweepEvery is the period of the acknowledgement and escalation sweep
	// (default 10s).
	SweepEvery time.Duration
	// Concurrency is the number of notification jobs worked at once
	// (default 20).
	Concurrency int

	sites siteCache
}

func (d *Dispatcher) defaults() {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Channels == nil {
		d.Channels = DefaultChannels(nil)
	}
	if d.Templates == nil {
		d.Templates = notifiers.DefaultTemplates()
	}
	if d.AckTTL <= 0 {
		d.AckTTL = 24 * time.Hour
	}
	if d.RateLimit <= 0 {
		d.RateLimit = 10
	}
	if d.RateWindow <= 0 {
		d.RateWindow = time.Minute
	}
	if d.Backoff == nil {
		d.Backoff = notifiers.Backoff
	}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = 8
	}
	if d.SendTimeout <= 0 {
		d.SendTimeout = defaultSendTimeout
	}
	if d.RescueAfter <= 0 {
		d.RescueAfter = d.SendTimeout + time.Minute
	}
	if d.SweepEvery <= 0 {
		d.SweepEvery = 10 * time.Second
	}
	if d.Concurrency <= 0 {
		d.Concurrency = 20
	}
}

// retryAt is when a failed notification job runs again: after
// Backoff(attempt) for a send that failed, but at once (in a second) for a
// job rescued from a notifier that died or hung (its attempt began more
// than the job timeout ago: a live notifier ends every attempt within it),
// since nothing is wrong with the channel and the message is overdue.
func (d *Dispatcher) retryAt(attempt int, attemptedAt *time.Time) time.Time {
	now := time.Now()
	if attemptedAt != nil && now.Sub(*attemptedAt) >= d.SendTimeout+jobTimeoutMargin {
		return now.Add(time.Second)
	}
	return now.Add(d.Backoff(attempt))
}

// AddWorkers registers the notification workers on ws (for a River client
// that also works other queues; add Queue to its queues).
func (d *Dispatcher) AddWorkers(ws *river.Workers) error {
	d.defaults()
	if err := river.AddWorkerSafely(ws, &NotifyWorker{d: d}); err != nil {
		return fmt.Errorf("river: %w", err)
	}
	if err := river.AddWorkerSafely(ws, &DeliverWorker{d: d}); err != nil {
		return fmt.Errorf("river: %w", err)
	}
	if err := river.AddWorkerSafely(ws, &DigestWorker{d: d}); err != nil {
		return fmt.Errorf("river: %w", err)
	}
	return nil
}

// NewClient returns a River client working only the notifications queue.
func (d *Dispatcher) NewClient() (*river.Client[pgx.Tx], error) {
	d.defaults()
	ws := river.NewWorkers()
	if err := d.AddWorkers(ws); err != nil {
		return nil, err
	}
	riverclient.KnowAll(ws)
	c, err := river.NewClient(riverclient.NewDriver(d.Pool), &river.Config{
		Logger:            riverclient.Logger(d.Logger),
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: d.Concurrency}},
		Workers:           ws,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
		JobTimeout:        d.SendTimeout + jobTimeoutMargin,
		// A notifier killed mid-send leaves its jobs running: another
		// notifier takes them over after this long (River's default, an
		// hour, held a dead node's notifications for that long).
		RescueStuckJobsAfter:        max(d.RescueAfter, d.SendTimeout+jobTimeoutMargin+5*time.Second),
		CompletedJobRetentionPeriod: time.Hour,
		ReindexerIndexNames:         riverclient.NoReindex,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	return c, nil
}

// Run works the notifications queue and runs the sweep until ctx ends,
// then stops gracefully (jobs in flight finish or return to the queue).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	rc, err := d.NewClient()
	if err != nil {
		return err
	}
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("starting notifier: %w", err)
	}
	d.Logger.InfoContext(ctx, "notifier started", slog.Any("channels", d.Channels.Names()))
	sw := &Sweeper{d: d, River: rc}
	sw.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = rc.Stop(sctx)
	d.Channels.Close(sctx)
	return err
}
