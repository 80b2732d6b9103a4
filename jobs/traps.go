package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/snmp"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TrapIngest receives SNMP traps for every site (`bergamot worker
// --traps ADDR`) and turns them into results of the sites' trap checks:
// each trap object becomes a snmp.TrapRule from its host's address, its
// command's executor (link-state or generic) and its parameters. A trap
// counts only for rules whose community (or v3 user) it carries and whose
// host address is its source (snmp.Match), so one site's traps never reach
// another's checks. Rules are reloaded whenever a site's configuration changes.
type TrapIngest struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Receiver receives the traps (v3 settings go in its Params).
	Receiver *snmp.TrapReceiver

	// Sealer opens the credentials trap commands take their community
	// (or v3 user) from.
	Sealer *store.Sealer
	// LookupIP resolves host names (net.DefaultResolver.LookupIP when nil).
	LookupIP func(ctx context.Context, network, host string) ([]net.IP, error)

	mu      sync.RWMutex
	rules   []snmp.TrapRule
	targets []trapTarget // by rule index (the rule's Name)

	cacheMu sync.Mutex
	cache   map[string]resolved
}

type trapTarget struct {
	site, check uuid.UUID
}

// Run loads the rules and receives traps on addr (UDP) until ctx ends.
func (ti *TrapIngest) Run(ctx context.Context, addr string) error {
	if err := ti.Load(ctx); err != nil {
		return err
	}
	wake := Wakeup(ctx, ti.Pool, ConfigChannel, ti.Logger)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
				if err := ti.Load(ctx); err != nil && ctx.Err() == nil {
					ti.Logger.ErrorContext(ctx, "reloading trap rules failed", slog.Any("error", err))
				}
			}
		}
	}()
	recv := ti.Receiver
	if recv == nil {
		recv = &snmp.TrapReceiver{Logger: ti.Logger}
	}
	return recv.Serve(ctx, addr, ti.Handle)
}

// Load reads the trap checks of every site. Host names are resolved
// concurrently and cached (ResolveTTL), so a site with slow or broken DNS
// does not hold up the others. A trap check whose host has no address, or
// whose command configures no community (v1/v2c) or user (v3), can never
// match a trap: it is logged and left out.
func (ti *TrapIngest) Load(ctx context.Context) error {
	rows, err := ti.Pool.Query(ctx, `SELECT id FROM sites WHERE NOT disabled`)
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	sites, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	type pending struct {
		rule    snmp.TrapRule
		target  trapTarget
		address string
	}
	var all []pending
	for _, site := range sites {
		err := tenants.InSite(tenants.WithSite(ctx, site), ti.Pool, func(ctx context.Context, tx pgx.Tx) error {
			found, err := store.TrapChecks(ctx, tx)
			if err != nil {
				return err
			}
			for _, c := range found {
				r := snmp.TrapRule{Executor: c.Executor, Parameters: c.Parameters}
				attrs := []any{slog.String("site", site.String()), slog.String("check", c.ID.String())}
				if err := openCredentials(ctx, tx, ti.Sealer, site, r.Parameters); err != nil {
					ti.Logger.WarnContext(ctx, "trap check's credentials cannot be opened; its traps are ignored", append(attrs, slog.Any("error", err))...)
					continue
				}
				switch {
				case c.Address == "":
					ti.Logger.WarnContext(ctx, "trap check's host has no address; its traps cannot be matched", attrs...)
					continue
				case r.Parameters["snmp_community"] == "" && r.Parameters["community"] == "" && r.Parameters["snmp_user"] == "" && r.Parameters["user"] == "":
					ti.Logger.WarnContext(ctx, "trap check's command sets no community (or v3 user); its traps are ignored", attrs...)
					continue
				}
				all = append(all, pending{rule: r, target: trapTarget{site: site, check: c.ID}, address: c.Address})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("loading trap checks of site %s: %w", site, err)
		}
	}
	names := make([]string, 0, len(all))
	for _, p := range all {
		names = append(names, p.address)
	}
	ips := ti.resolve(ctx, names)
	var rules []snmp.TrapRule
	var targets []trapTarget
	for _, p := range all {
		if p.rule.Host = ips[p.address]; p.rule.Host == nil {
			ti.Logger.WarnContext(ctx, "trap check's host address does not resolve; ignoring it",
				slog.String("site", p.target.site.String()), slog.String("check", p.target.check.String()), slog.String("address", p.address))
			continue
		}
		p.rule.Name = strconv.Itoa(len(rules))
		rules = append(rules, p.rule)
		targets = append(targets, p.target)
	}
	ti.mu.Lock()
	ti.rules, ti.targets = rules, targets
	ti.mu.Unlock()
	ti.Logger.DebugContext(ctx, "trap rules loaded", slog.Int("rules", len(rules)))
	return nil
}

// trapResolveTTL is how long a resolved host name is reused; failures are
// retried after trapResolveRetry.
const (
	trapResolveTTL   = 5 * time.Minute
	trapResolveRetry = 30 * time.Second
	trapResolvers    = 16
)

type resolved struct {
	ip      net.IP
	expires time.Time
}

// resolve maps addresses (IP literals or host names) to IPs: literals
// directly, names from the cache or up to trapResolvers lookups at a time,
// each bounded to 2 s. Unresolvable names map to nil.
func (ti *TrapIngest) resolve(ctx context.Context, addresses []string) map[string]net.IP {
	out := map[string]net.IP{}
	var todo []string
	now := time.Now()
	ti.cacheMu.Lock()
	for _, a := range addresses {
		if _, done := out[a]; done {
			continue
		}
		if ip := net.ParseIP(a); ip != nil {
			out[a] = ip
			continue
		}
		if c, ok := ti.cache[a]; ok && now.Before(c.expires) {
			out[a] = c.ip
			continue
		}
		out[a] = nil
		todo = append(todo, a)
	}
	ti.cacheMu.Unlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, trapResolvers)
	for _, name := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ip := ti.lookup(ctx, name)
			ttl := trapResolveTTL
			if ip == nil {
				ttl = trapResolveRetry
			}
			mu.Lock()
			out[name] = ip
			mu.Unlock()
			ti.cacheMu.Lock()
			if ti.cache == nil {
				ti.cache = map[string]resolved{}
			}
			ti.cache[name] = resolved{ip: ip, expires: time.Now().Add(ttl)}
			ti.cacheMu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func (ti *TrapIngest) lookup(ctx context.Context, address string) net.IP {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lookup := net.DefaultResolver.LookupIP
	if ti.LookupIP != nil {
		lookup = ti.LookupIP
	}
	ips, err := lookup(ctx, "ip", address)
	if err != nil || len(ips) == 0 {
		return nil
	}
	return ips[0]
}

// Handle submits the results one trap gives the trap checks it matches.
func (ti *TrapIngest) Handle(ctx context.Context, trap snmp.Trap) {
	ti.mu.RLock()
	rules, targets := ti.rules, ti.targets
	ti.mu.RUnlock()
	type hit struct {
		check  uuid.UUID
		status checks.Status
		output string
	}
	bySite := map[uuid.UUID][]hit{}
	for _, name := range snmp.Match(trap, rules) {
		i, _ := strconv.Atoi(name)
		res, ok := snmp.Evaluate(trap, rules[i])
		if !ok {
			continue
		}
		t := targets[i]
		bySite[t.site] = append(bySite[t.site], hit{t.check, res.Status, res.Output})
	}
	if len(bySite) == 0 {
		ti.Logger.DebugContext(ctx, "trap matched no trap check", slog.String("source", trap.Source.String()), slog.String("oid", trap.TrapOID))
		return
	}
	source := "snmp-trap " + trap.Source.String()
	for site, hits := range bySite {
		err := tenants.InSite(tenants.WithSite(ctx, site), ti.Pool, func(ctx context.Context, tx pgx.Tx) error {
			for _, h := range hits {
				if err := store.SubmitResult(ctx, tx, h.check.String(), h.status, h.output, source); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			ti.Logger.ErrorContext(ctx, "submitting trap result failed", slog.String("site", site.String()), slog.Any("error", err))
		}
	}
}
