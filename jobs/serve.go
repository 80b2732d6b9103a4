package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// ServeConfig is what the serve side of the pipeline needs: internal/node
// builds it for production and the API test rig; the pipeline's own test
// rigs (which cannot import internal/node) build it directly.
type ServeConfig struct {
	Pool   *pgxpool.Pool
	River  *river.Client[pgx.Tx]
	Logger *slog.Logger
	// Sinks see every processed batch's events, in order.
	Sinks []EventSink
	// StartWithin is the scheduler's StartWithin (default 60s).
	StartWithin time.Duration
	// Tick is the scheduler's Tick and WatchEvery the watchdog's Every
	// (zero: their defaults); test rigs shorten them.
	Tick, WatchEvery time.Duration
	// ProcessOnly runs the result processor without the scheduler and the
	// watchdog: for rigs that queue results themselves.
	ProcessOnly bool
	// Trace is the processor's Trace (the latency benchmark's).
	Trace lattrace.Tracer
	// Limits are the scheduler's per-site limits (nil: their defaults).
	Limits *tenants.SiteLimits
}

// Serve is the serve side of the pipeline: the scheduler, the result
// processor and the watchdog, wired as every serve node runs them.
type Serve struct {
	Scheduler *Scheduler // nil with ProcessOnly
	Processor *Processor
	Watchdog  *Watchdog // nil with ProcessOnly
}

// NewServe builds the serve loops. ctx bounds the processor's LISTEN on
// ResultsChannel; the loops run when Run is called.
func NewServe(ctx context.Context, c ServeConfig) *Serve {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Serve{Processor: &Processor{Pool: c.Pool, Logger: log.With(slog.String("component", "results")), Sinks: c.Sinks,
		Wake: Wakeup(ctx, c.Pool, ResultsChannel, log), Trace: c.Trace}}
	if !c.ProcessOnly {
		s.Scheduler = &Scheduler{Pool: c.Pool, River: c.River, Logger: log.With(slog.String("component", "scheduler")),
			Tick: c.Tick, StartWithin: c.StartWithin, Limits: c.Limits}
		s.Watchdog = &Watchdog{Pool: c.Pool, River: c.River, Logger: log.With(slog.String("component", "watchdog")), Every: c.WatchEvery}
	}
	return s
}

// Loops are the loops to run, each until its ctx ends.
func (s *Serve) Loops() []func(context.Context) error {
	var out []func(context.Context) error
	if s.Scheduler != nil {
		out = append(out, s.Scheduler.Run)
	}
	out = append(out, s.Processor.Run)
	if s.Watchdog != nil {
		out = append(out, s.Watchdog.Run)
	}
	return out
}
