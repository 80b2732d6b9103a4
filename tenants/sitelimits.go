package tenants

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// SiteLimit is one limit every site has: an installation default the
// operator may change (environment BERGAMOT_LIMIT_<NAME>, the name upper
// case with '_' for '-') and per-site overrides (`bergamot site limits`).
type SiteLimit struct {
	// Name is how refusals and the operator name it.
	Name string
	// Default is the built-in default.
	Default int64
	// Help says what it bounds.
	Help string
}

// The per-site limits. Refusals name the limit and its value.
const (
	LimitSubscriptionsPerConnection = "subscriptions-per-connection"
	LimitSubscriptionsPerSite       = "subscriptions-per-site"
	LimitChecksInFlight             = "checks-in-flight"
	LimitExecuteNowQueued           = "execute-now-queued"
	LimitQueryCost                  = "query-cost"
	LimitQueryRows                  = "query-rows"
	LimitQuerySeconds               = "query-seconds"
)

// SiteLimitDefs is the registry of per-site limits.
var SiteLimitDefs = []SiteLimit{
	{LimitSubscriptionsPerConnection, 100, "GraphQL subscriptions open on one WebSocket connection"},
	{LimitSubscriptionsPerSite, 1000, "GraphQL subscriptions open at once by all of a site's connections to one API node"},
	{LimitChecksInFlight, 2000, "scheduled checks of the site queued or running at once; due checks beyond it wait for a free place (oldest first)"},
	{LimitExecuteNowQueued, 20, "checks queued by executeNow and not yet started"},
	{LimitQueryCost, 50000, "cost of one GraphQL query: each list field costs its page size (first, or the default) times its selection"},
	{LimitQueryRows, 200000, "objects one GraphQL query or mutation may return in all its list fields together, counted as they are read (nested lists the cost estimate cannot size, such as a host's services, count what they really hold)"},
	{LimitQuerySeconds, 30, "seconds one GraphQL query or mutation may run; it is stopped after that (subscriptions are not bounded)"},
}

// SiteLimitDef returns the limit named name.
func SiteLimitDef(name string) (SiteLimit, bool) {
	i := slices.IndexFunc(SiteLimitDefs, func(l SiteLimit) bool { return l.Name == name })
	if i < 0 {
		return SiteLimit{}, false
	}
	return SiteLimitDefs[i], true
}

func limitNames() string {
	var n []string
	for _, l := range SiteLimitDefs {
		n = append(n, l.Name)
	}
	return strings.Join(n, ", ")
}

// EnvName is the environment variable that sets the installation default.
func (l SiteLimit) EnvName() string {
	return "BERGAMOT_LIMIT_" + strings.ToUpper(strings.ReplaceAll(l.Name, "-", "_"))
}

// LimitDefaultsFromEnv reads the installation defaults from the
// environment; a bad value is an error naming the variable.
func LimitDefaultsFromEnv(getenv func(string) string) (map[string]int64, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	out := map[string]int64{}
	for _, l := range SiteLimitDefs {
		out[l.Name] = l.Default
		if v := strings.TrimSpace(getenv(l.EnvName())); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s=%q: the %s limit must be a whole number, 0 or more", l.EnvName(), v, l.Name)
			}
			out[l.Name] = n
		}
	}
	return out, nil
}

// SiteLimits resolves each site's limits: the site's override, else the
// installation default. Reads are cached for a few seconds, so a change
// takes effect within CacheFor on every node.
type SiteLimits struct {
	pool     *pgxpool.Pool
	defaults map[string]int64
	// CacheFor is how long a site's overrides are kept (default 10s).
	CacheFor time.Duration

	mu    sync.Mutex
	sites map[uuid.UUID]siteOverrides
	all   *allOverrides
}

type siteOverrides struct {
	at   time.Time
	vals map[string]int64
}

type allOverrides struct {
	at   time.Time
	vals map[string]map[uuid.UUID]int64
}

// NewSiteLimits returns the limits over pool with the installation's
// defaults (nil: the built-in ones).
func NewSiteLimits(pool *pgxpool.Pool, defaults map[string]int64) *SiteLimits {
	d := map[string]int64{}
	for _, l := range SiteLimitDefs {
		d[l.Name] = l.Default
	}
	for k, v := range defaults {
		d[k] = v
	}
	return &SiteLimits{pool: pool, defaults: d, sites: map[uuid.UUID]siteOverrides{}}
}

func (l *SiteLimits) ttl() time.Duration {
	if l.CacheFor > 0 {
		return l.CacheFor
	}
	return 10 * time.Second
}

// Default is the installation's value of name.
func (l *SiteLimits) Default(name string) int64 {
	if l == nil {
		d, _ := SiteLimitDef(name)
		return d.Default
	}
	return l.defaults[name]
}

// Get returns the site's value of name. When the overrides cannot be read
// it answers the default (and the error).
func (l *SiteLimits) Get(ctx context.Context, site uuid.UUID, name string) (int64, error) {
	if l == nil {
		return l.Default(name), nil
	}
	l.mu.Lock()
	so, ok := l.sites[site]
	l.mu.Unlock()
	if !ok || time.Since(so.at) > l.ttl() {
		vals, err := l.read(ctx, site)
		if err != nil {
			return l.defaults[name], err
		}
		so = siteOverrides{at: time.Now(), vals: vals}
		l.mu.Lock()
		l.sites[site] = so
		l.mu.Unlock()
	}
	if v, ok := so.vals[name]; ok {
		return v, nil
	}
	return l.defaults[name], nil
}

func (l *SiteLimits) read(ctx context.Context, site uuid.UUID) (map[string]int64, error) {
	rows, err := l.pool.Query(ctx, `SELECT name, value FROM site_limits WHERE site_id = $1`, site)
	if err != nil {
		return nil, fmt.Errorf("reading site limits: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, fmt.Errorf("reading site limits: %w", err)
		}
		out[n] = v
	}
	return out, rows.Err()
}

// Overrides returns every site's override of name (sites without one use
// Default), for the scheduler's pass over all sites.
func (l *SiteLimits) Overrides(ctx context.Context, name string) (map[uuid.UUID]int64, error) {
	if l == nil {
		return nil, nil
	}
	l.mu.Lock()
	a := l.all
	l.mu.Unlock()
	if a == nil || time.Since(a.at) > l.ttl() {
		rows, err := l.pool.Query(ctx, `SELECT site_id, name, value FROM site_limits`)
		if err != nil {
			return nil, fmt.Errorf("reading site limits: %w", err)
		}
		vals := map[string]map[uuid.UUID]int64{}
		for rows.Next() {
			var site uuid.UUID
			var n string
			var v int64
			if err := rows.Scan(&site, &n, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading site limits: %w", err)
			}
			if vals[n] == nil {
				vals[n] = map[uuid.UUID]int64{}
			}
			vals[n][site] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading site limits: %w", err)
		}
		a = &allOverrides{at: time.Now(), vals: vals}
		l.mu.Lock()
		l.all = a
		l.mu.Unlock()
	}
	return a.vals[name], nil
}

// LimitValue is one limit as it applies to a site.
type LimitValue struct {
	SiteLimit
	Value      int64
	Overridden bool
}

// List returns every limit's value for site, in registry order.
func (l *SiteLimits) List(ctx context.Context, site uuid.UUID) ([]LimitValue, error) {
	vals, err := l.read(ctx, site)
	if err != nil {
		return nil, err
	}
	out := make([]LimitValue, 0, len(SiteLimitDefs))
	for _, d := range SiteLimitDefs {
		v, ok := vals[d.Name]
		if !ok {
			v = l.defaults[d.Name]
		}
		out = append(out, LimitValue{SiteLimit: d, Value: v, Overridden: ok})
	}
	return out, nil
}

// Set overrides name for site (the operator's command).
func (l *SiteLimits) Set(ctx context.Context, site uuid.UUID, name string, value int64) error {
	if _, ok := SiteLimitDef(name); !ok {
		return errs.E(errs.Invalid, "no limit named %q (there are: %s)", name, limitNames())
	}
	if value < 0 {
		return errs.E(errs.Invalid, "limit %s: %d is negative; use 0 or more", name, value)
	}
	if _, err := l.pool.Exec(ctx, `INSERT INTO site_limits (site_id, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (site_id, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, site, name, value); err != nil {
		return fmt.Errorf("setting limit %s: %w", name, err)
	}
	l.forget(site)
	return nil
}

// Reset removes the site's override of name (the default applies again).
func (l *SiteLimits) Reset(ctx context.Context, site uuid.UUID, name string) error {
	if _, ok := SiteLimitDef(name); !ok {
		return errs.E(errs.Invalid, "no limit named %q (there are: %s)", name, limitNames())
	}
	if _, err := l.pool.Exec(ctx, `DELETE FROM site_limits WHERE site_id = $1 AND name = $2`, site, name); err != nil {
		return fmt.Errorf("resetting limit %s: %w", name, err)
	}
	l.forget(site)
	return nil
}

func (l *SiteLimits) forget(site uuid.UUID) {
	l.mu.Lock()
	delete(l.sites, site)
	l.all = nil
	l.mu.Unlock()
}
