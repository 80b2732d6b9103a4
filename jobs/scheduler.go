package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/config/timeperiod"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Priorities: ad-hoc checks (executeNow) jump the queue.
const (
	PriorityAdhoc     = 1
	PriorityScheduled = 2
)

// Scheduler claims due checks and queues their jobs. Run one in every serve
// node; they share the work through SKIP LOCKED.
type Scheduler struct {
	Pool   *pgxpool.Pool
	River  *river.Client[pgx.Tx]
	Logger *slog.Logger
	// Batch is the most checks claimed per transaction (default 2000).
	Batch int
	// Tick is how often to look for due checks (default 100ms).
	Tick time.Duration
	// StartWithin is how long a queued check may wait for a worker before
	// the watchdog reports it as TIMEOUT (default 60s).
	StartWithin time.Duration
	// InFlightFor bounds how long a queued or running check holds back its
	// later slots when its result never comes (default StartWithin plus
	// JobTimeout plus a minute). While a check's job is in flight its slots
	// are skipped, not queued behind it: an overloaded zone runs each check
	// as often as it can instead of growing an endless queue.
	InFlightFor time.Duration

	// Limits holds the per-site checks-in-flight limit (nil: its default).
	Limits *tenants.SiteLimits
	// IdleTimeout bounds how long a claim transaction may sit idle between
	// statements (default IdleInTransaction).
	IdleTimeout time.Duration

	periods periodCache
	skipped atomic.Int64
}

// Skipped is how many times a due check was held back because its previous
// job was still in flight (a sign the zone's workers cannot keep up). A held
// back check's next slot moves past the in-flight bound, in step with its
// interval, and its result brings it back to the first slot from then on,
// so a busy check costs one write, not one per missed slot.
func (s *Scheduler) Skipped() int64 { return s.skipped.Load() }

func (s *Scheduler) defaults() {
	if s.Batch <= 0 {
		s.Batch = 2000
	}
	if s.Tick <= 0 {
		s.Tick = 100 * time.Millisecond
	}
	if s.StartWithin <= 0 {
		s.StartWithin = 60 * time.Second
	}
	if s.InFlightFor <= 0 {
		s.InFlightFor = s.StartWithin + JobTimeout + time.Minute
	}
}

// Run schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	s.defaults()
	t := time.NewTicker(s.Tick)
	defer t.Stop()
	for {
		for {
			n, err := s.RunOnce(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.Logger.ErrorContext(ctx, "scheduling failed", slog.Any("error", err))
				break
			}
			if n < s.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// inFlightCaps are the sites' overrides of the checks-in-flight limit, as
// two arrays for the claim query.
func (s *Scheduler) inFlightCaps(ctx context.Context) ([]int64, []uuid.UUID, error) {
	over, err := s.Limits.Overrides(ctx, tenants.LimitChecksInFlight)
	if err != nil {
		return nil, nil, err
	}
	caps := make([]int64, 0, len(over))
	sites := make([]uuid.UUID, 0, len(over))
	for site, v := range over {
		sites = append(sites, site)
		caps = append(caps, v)
	}
	return caps, sites, nil
}

// RunOnce claims one batch of due checks and queues them; it returns how many it claimed.
func (s *Scheduler) RunOnce(ctx context.Context) (int, error) {
	s.defaults()
	caps, capSites, err := s.inFlightCaps(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// A node frozen between its claim and its commit holds the claimed
		// checks' rows (the other nodes skip them) only this long.
		if _, err := tx.Exec(ctx, idleTimeoutSQL(s.IdleTimeout)); err != nil {
			return fmt.Errorf("bounding the claim's idle time: %w", err)
		}
		due, err := store.ClaimDue(ctx, tx, store.ClaimLimits{Batch: s.Batch, InFlightFor: s.InFlightFor,
			DefaultCap: s.Limits.Default(tenants.LimitChecksInFlight), CapSites: capSites, Caps: caps})
		if err != nil {
			return err
		}
		n = len(due)
		if n == 0 {
			return nil
		}
		now := time.Now()
		params := make([]river.InsertManyParams, 0, len(due))
		var outside []uuid.UUID // claimed but not queued: nothing in flight
		for _, d := range due {
			if d.Busy {
				s.skipped.Add(1)
				continue
			}
			if d.Period != nil && *d.Period != "" {
				in, err := s.periods.inside(ctx, s.Pool, d.Site, *d.Period, now)
				if err != nil {
					s.Logger.WarnContext(ctx, "time period not usable; running check anyway",
						slog.String("check", d.Check.String()), slog.Any("error", err))
				} else if !in {
					outside = append(outside, d.Check)
					continue
				}
			}
			params = append(params, river.InsertManyParams{
				Args:       ExecuteArgs{SiteID: d.Site, CheckID: d.Check, Slot: d.Slot, Deadline: now.Add(s.StartWithin), Zone: d.Zone, Private: !d.Shared},
				InsertOpts: &river.InsertOpts{Queue: queueOf(d.Site, d.Zone, d.Shared, d.Agent), Priority: PriorityScheduled, MaxAttempts: 3},
			})
		}
		if len(outside) > 0 {
			if err := store.ReleaseClaims(ctx, tx, outside); err != nil {
				return err
			}
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := s.River.InsertManyFastTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queueing checks: %w", err)
		}
		return nil
	})
	return n, err
}

// ExecuteNowQueued is the most checks one site may have queued by
// executeNow and not yet run. executeNow jumps ahead of every site's
// scheduled checks, so without it one site's 200 calls pushed other
// sites' checks past their deadline (false TIMEOUT alerts).
const ExecuteNowQueued = 20

// executeNowLock is the first key of the per-site advisory lock that makes
// the ExecuteNowQueued count and the insert atomic.
const executeNowLock = 0x6e6f7721 // "now!"

// ExecuteNow queues a check at once, ahead of scheduled work; a site with
// ExecuteNowQueued such checks still waiting is refused (errs.Transient).
func ExecuteNow(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], checkID uuid.UUID, startWithin time.Duration) error {
	return ExecuteNowLimited(ctx, tx, rc, checkID, startWithin, ExecuteNowQueued)
}

// ExecuteNowLimited is ExecuteNow with the site's own execute-now-queued
// limit (tenants.LimitExecuteNowQueued; 0 or less: ExecuteNowQueued).
func ExecuteNowLimited(ctx context.Context, tx pgx.Tx, rc *river.Client[pgx.Tx], checkID uuid.UUID, startWithin time.Duration, limit int64) error {
	if limit <= 0 {
		limit = ExecuteNowQueued
	}
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return err
	}
	if err := store.Authorize(ctx, tx, checkID, config.PermExecute); err != nil {
		return err
	}
	// The lock first, then the count in a statement of its own: its
	// snapshot then sees every insert committed before the lock was ours.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, hashtext($2))`, executeNowLock, site.String()); err != nil {
		return fmt.Errorf("counting queued checks: %w", err)
	}
	var queued int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE kind = 'check' AND state IN ('available', 'scheduled', 'retryable', 'pending')
			AND args @> jsonb_build_object('site_id', $1::text, 'adhoc', true)`, site.String()).Scan(&queued); err != nil {
		return fmt.Errorf("counting queued checks: %w", err)
	}
	if queued >= limit {
		return errs.E(errs.Transient, "executeNow refused: this site already has %d checks queued by executeNow that have not started "+
			"(limit execute-now-queued = %d); try again when they have run", queued, limit)
	}
	zone, shared, agent, err := store.QueueTarget(ctx, tx, checkID)
	if err != nil {
		return err
	}
	if startWithin <= 0 {
		startWithin = 60 * time.Second
	}
	now := time.Now()
	_, err = rc.InsertTx(ctx, tx, ExecuteArgs{SiteID: site, CheckID: checkID, Slot: now, Deadline: now.Add(startWithin), Zone: zone, Private: !shared, Adhoc: true},
		&river.InsertOpts{Queue: queueOf(site, zone, shared, agent), Priority: PriorityAdhoc, MaxAttempts: 3})
	if err != nil {
		return fmt.Errorf("queueing check: %w", err)
	}
	return nil
}

// periodCache keeps each site's time periods for a short while.
type periodCache struct {
	mu    sync.Mutex
	sites map[uuid.UUID]*sitePeriods
}

type sitePeriods struct {
	loaded  time.Time
	periods map[string]*timeperiod.Period
}

const periodTTL = 30 * time.Second

// inside reports whether now is inside the site's period name. The periods
// are read on a connection of their own, not in the scheduler's claim
// transaction (which holds every claimed site's rows), and evaluated with
// the bounded, memoised timeperiod.Period.Contains (exclusions are bounded
// at apply: config.MaxExcludeDepth).
func (c *periodCache) inside(ctx context.Context, pool *pgxpool.Pool, site uuid.UUID, name string, now time.Time) (bool, error) {
	c.mu.Lock()
	sp := c.sites[site]
	c.mu.Unlock()
	if sp == nil || time.Since(sp.loaded) > periodTTL {
		var err error
		if sp, err = loadPeriods(ctx, pool, site); err != nil {
			return true, err
		}
		c.mu.Lock()
		if c.sites == nil {
			c.sites = map[uuid.UUID]*sitePeriods{}
		}
		c.sites[site] = sp
		c.mu.Unlock()
	}
	p := sp.periods[name]
	if p == nil {
		return true, fmt.Errorf("no time period named %q", name)
	}
	return p.Contains(now, func(n string) *timeperiod.Period { return sp.periods[n] }), nil
}

func loadPeriods(ctx context.Context, pool *pgxpool.Pool, site uuid.UUID) (*sitePeriods, error) {
	var periods map[string]*timeperiod.Period
	err := tenants.InSite(tenants.WithSite(ctx, site), pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		periods, err = store.TimePeriods(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sitePeriods{loaded: time.Now(), periods: periods}, nil
}
