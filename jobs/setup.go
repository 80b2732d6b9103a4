package jobs

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
)

// WorkerConfig configures a worker's River client.
type WorkerConfig struct {
	Zone        string
	Concurrency int
	Worker      *ExecuteWorker
	Logger      *slog.Logger
	// Extra registers more job kinds (e.g. notifications) and queues.
	Extra  func(w *river.Workers)
	Queues map[string]river.QueueConfig
	// RescueAfter is how long a check job may run before River hands it to
	// another worker (its worker presumed dead); default JobTimeout plus a
	// minute. It also bounds one job's run time.
	RescueAfter time.Duration
	// FetchCooldown and FetchPollInterval tune how eagerly the worker polls
	// (defaults 10ms and 250ms; new jobs are also announced by NOTIFY).
	FetchCooldown, FetchPollInterval time.Duration
}

// NewWorkerClient returns a River client working zone's queue only.
func NewWorkerClient(pool *pgxpool.Pool, cfg WorkerConfig) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	queues := map[string]river.QueueConfig{}
	if cfg.Worker != nil {
		if err := river.AddWorkerSafely(workers, cfg.Worker); err != nil {
			return nil, fmt.Errorf("river: %w", err)
		}
		if cfg.Concurrency <= 0 {
			cfg.Concurrency = 100
		}
		queues[QueueForZone(cfg.Zone)] = river.QueueConfig{MaxWorkers: cfg.Concurrency}
	}
	if cfg.Extra != nil {
		cfg.Extra(workers)
	}
	for q, qc := range cfg.Queues {
		queues[q] = qc
	}
	jobTimeout, rescue := JobTimeout, JobTimeout+time.Minute
	if cfg.RescueAfter > 0 {
		jobTimeout, rescue = cfg.RescueAfter, cfg.RescueAfter
	}
	if cfg.Worker != nil {
		cfg.Worker.MaxRuntime = jobTimeout
	}
	riverclient.KnowAll(workers)
	c, err := river.NewClient(riverclient.NewDriver(pool), &river.Config{
		Logger:                      riverclient.Logger(cfg.Logger),
		Queues:                      queues,
		Workers:                     workers,
		FetchCooldown:               cmp.Or(cfg.FetchCooldown, 10*time.Millisecond),
		FetchPollInterval:           cmp.Or(cfg.FetchPollInterval, 250*time.Millisecond),
		JobTimeout:                  jobTimeout,
		RescueStuckJobsAfter:        rescue,
		CompletedJobRetentionPeriod: time.Minute, // keep river_job small: results live in our own tables
		ReindexerIndexNames:         riverclient.NoReindex,
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	return c, nil
}
