package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/store"
)

// Freshness parameters of a passive check (its own <parameter>s), owned
// and validated by config.
const (
	// FreshnessParam is how long a passive check may stay silent.
	FreshnessParam = config.FreshnessParam
	// FreshnessStatusParam is the status a silent check gets (default UNKNOWN).
	FreshnessStatusParam = config.FreshnessStatusParam
	// FreshnessWorker names the results the freshness loop makes.
	FreshnessWorker = "bergamot/freshness"
)

// Freshness watches passive checks (hosts, services and traps that are
// not scheduled) with a freshness parameter: one that has heard no result
// for longer than that gets a result of its freshness status (UNKNOWN by
// default) saying how long it has been silent, repeated every retry-every
// while soft and every `every` once hard, until a real result arrives.
// This is also heartbeat monitoring: "alert when the backup job has not
// reported in 25 hours".
//
// Every serve node runs one; a per-site advisory lock taken with
// try-lock semantics keeps two nodes from reporting the same silence.
type Freshness struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Every is how often to look (default 10s).
	Every time.Duration
}

// ParseFreshness reads a freshness parameter (config.ParseFreshness).
func ParseFreshness(s string) (time.Duration, error) { return config.ParseFreshness(s) }

// Run looks for silent checks until ctx ends.
func (f *Freshness) Run(ctx context.Context) error {
	return runEvery(ctx, f.Logger, f.Every, nil, "freshness check", f.RunOnce)
}

// RunOnce looks at every site once and returns how many stale results it
// inserted.
func (f *Freshness) RunOnce(ctx context.Context) (int, error) {
	return forEachSite(ctx, f.Pool, f.site)
}

// passiveCheck is one watched check as read from the database.
type passiveCheck struct {
	id                 uuid.UUID
	freshness, status  string
	settings           store.CheckSettings
	configured         time.Time
	lastCheck          *time.Time
	worker             string
	hard               bool
	silentSince, fired *time.Time
}

func (f *Freshness) site(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 9))`, "freshness:"+site.String()).Scan(&locked); err != nil {
		return 0, fmt.Errorf("locking: %w", err)
	}
	if !locked {
		return 0, nil // another node is looking at this site right now
	}
	read, err := store.PassiveChecks(ctx, tx)
	if err != nil {
		return 0, err
	}
	list := make([]*passiveCheck, len(read))
	for i, c := range read {
		list[i] = &passiveCheck{id: c.ID, freshness: c.Freshness, status: c.Status, settings: c.Settings, configured: c.Configured,
			lastCheck: c.LastCheck, worker: c.Worker, hard: c.Hard, silentSince: c.SilentSince, fired: c.Fired}
	}
	now := time.Now()
	n := 0
	for _, c := range list {
		res, since, ok := c.due(now)
		if !ok {
			continue
		}
		body, err := checks.DefaultLimits.Encode(&res)
		if err != nil {
			return n, err
		}
		if err := store.InsertResult(ctx, tx, site, c.id, body); err != nil {
			return n, fmt.Errorf("reporting silence: %w", err)
		}
		if err := store.RecordSilence(ctx, tx, site, c.id, since, now); err != nil {
			return n, fmt.Errorf("reporting silence: %w", err)
		}
		n++
	}
	if n > 0 {
		if err := store.WakeProcessors(ctx, tx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// due decides whether c is silent and needs a stale result now; it
// returns the result and when the silence began.
func (c *passiveCheck) due(now time.Time) (checks.Result, time.Time, bool) {
	limit, err := ParseFreshness(c.freshness)
	if err != nil {
		return checks.Result{}, time.Time{}, false // rejected by configuration validation
	}
	// The last real result: our own stale results don't count.
	var last time.Time
	switch {
	case c.worker != FreshnessWorker && c.lastCheck != nil:
		last = *c.lastCheck
	case c.silentSince != nil:
		last = *c.silentSince
	case c.lastCheck != nil:
		last = *c.lastCheck
	default:
		last = c.configured // never heard from: silent since configured
	}
	silence := now.Sub(last)
	if silence < limit {
		return checks.Result{}, time.Time{}, false
	}
	if c.fired != nil && !c.fired.Before(last) {
		// Already reported this silence: repeat like a failing active
		// check (retry-every while soft, every once hard).
		again := c.settings.Schedule.RetryEvery
		if c.hard && c.worker == FreshnessWorker {
			again = c.settings.Schedule.Every
		}
		if again <= 0 {
			again = config.DefaultRetryEvery
		}
		if now.Sub(*c.fired) < again {
			return checks.Result{}, time.Time{}, false
		}
	}
	st, err := checks.ParseStatus(c.status)
	if err != nil || c.status == "" {
		st = checks.StatusUnknown
	}
	out := fmt.Sprintf("no result for %s; expected one every %s", humanDuration(silence), humanDuration(limit))
	return checks.Result{Status: st, Output: out, Started: now, Worker: FreshnessWorker}, last, true
}

// humanDuration writes 25h3m, 90s as 1m30s, 2s.
func humanDuration(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
