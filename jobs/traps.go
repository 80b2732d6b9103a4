package jobs

import (
	"context"
	"encoding/json"
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
// command's executor (link-state or generic) and its parameters. Rules are
// reloaded whenever a site's configuration changes.
type TrapIngest struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Receiver receives the traps (v3 settings go in its Params).
	Receiver *snmp.TrapReceiver

	mu      sync.RWMutex
	rules   []snmp.TrapRule
	targets []trapTarget // by rule index (the rule's Name)
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

// Load reads the trap checks of every site.
func (ti *TrapIngest) Load(ctx context.Context) error {
	rows, err := ti.Pool.Query(ctx, `SELECT id FROM sites WHERE NOT disabled`)
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	sites, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	var rules []snmp.TrapRule
	var targets []trapTarget
	for _, site := range sites {
		err := tenants.InSite(tenants.WithSite(ctx, site), ti.Pool, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT t.id, t.executor, t.parameters, h.address
				FROM checks t JOIN checks h ON h.id = t.parent_id WHERE t.kind = 'trap' AND t.enabled`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id uuid.UUID
				var executor, address string
				var params []byte
				if err := rows.Scan(&id, &executor, &params, &address); err != nil {
					return err
				}
				r := snmp.TrapRule{Name: strconv.Itoa(len(rules)), Executor: executor, Parameters: map[string]string{}}
				_ = json.Unmarshal(params, &r.Parameters)
				if address != "" {
					if r.Host = ti.lookup(ctx, address); r.Host == nil {
						ti.Logger.WarnContext(ctx, "trap check's host address does not resolve; ignoring it",
							slog.String("site", site.String()), slog.String("check", id.String()), slog.String("address", address))
						continue
					}
				}
				rules = append(rules, r)
				targets = append(targets, trapTarget{site: site, check: id})
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("loading trap checks of site %s: %w", site, err)
		}
	}
	ti.mu.Lock()
	ti.rules, ti.targets = rules, targets
	ti.mu.Unlock()
	ti.Logger.DebugContext(ctx, "trap rules loaded", slog.Int("rules", len(rules)))
	return nil
}

func (ti *TrapIngest) lookup(ctx context.Context, address string) net.IP {
	if ip := net.ParseIP(address); ip != nil {
		return ip
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", address)
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
