package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/store"
)

// policyFlags are the execution policy's flags (docs/exec-policy.md),
// shared by serve, worker, notifier and run.
type policyFlags struct {
	mode        *string
	allowNet    listFlag
	pluginDirs  *string
	pluginRules *string
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// addPolicyFlags registers --exec-policy (default def unless
// BERGAMOT_EXEC_POLICY is set), --allow-net, --plugin-dirs and --plugin-rules.
func addPolicyFlags(fs *flag.FlagSet, def string) *policyFlags {
	pf := &policyFlags{}
	pf.mode = fs.String("exec-policy", getenv("BERGAMOT_EXEC_POLICY", def),
		"execution policy: hosted confines every site's checks in shared zones (allow-listed plugins, public addresses only), trusted runs what configurations say (env BERGAMOT_EXEC_POLICY)")
	if v := os.Getenv("BERGAMOT_ALLOW_NET"); v != "" {
		pf.allowNet = listFlag{v}
	}
	fs.Var(&pf.allowNet, "allow-net", "under hosted, let checks and notifications reach this CIDR although it is private, loopback...; repeatable or comma-separated (env BERGAMOT_ALLOW_NET)")
	pf.pluginDirs = fs.String("plugin-dirs", getenv("BERGAMOT_PLUGIN_ALLOW", getenv(nagios.PluginDirEnv, nagios.DefaultPluginDir)),
		"under hosted, the only directories Nagios plugins run from, comma-separated (env BERGAMOT_PLUGIN_ALLOW)")
	pf.pluginRules = fs.String("plugin-rules", os.Getenv("BERGAMOT_PLUGIN_RULES"),
		"under hosted, a file of per-plugin option rules (\"check_http: -H -p -u\"; see docs/exec-policy.md) (env BERGAMOT_PLUGIN_RULES)")
	return pf
}

// servePolicyDefault is serve's policy when neither --exec-policy nor
// BERGAMOT_EXEC_POLICY says: hosted whenever anyone may sign up.
func servePolicyDefault(signupOpen bool) string {
	if signupOpen {
		return checks.PolicyHosted
	}
	return checks.PolicyTrusted
}

// policy builds the policy the flags say; nil is trusted.
func (pf *policyFlags) policy() (*checks.Policy, error) {
	mode, err := checks.ParsePolicyMode(*pf.mode)
	if err != nil {
		return nil, fmt.Errorf("--exec-policy: %w", err)
	}
	if mode == checks.PolicyTrusted {
		return nil, nil
	}
	allow, err := netpolicy.ParsePrefixes(pf.allowNet...)
	if err != nil {
		return nil, fmt.Errorf("--allow-net: %w", err)
	}
	rules, err := nagios.LoadArgRules(*pf.pluginRules)
	if err != nil {
		return nil, fmt.Errorf("--plugin-rules: %w", err)
	}
	var dirs []string
	for _, d := range strings.Split(*pf.pluginDirs, ",") {
		if d = strings.TrimSpace(d); d != "" {
			if !filepath.IsAbs(d) {
				return nil, fmt.Errorf("--plugin-dirs: %q is not an absolute path", d)
			}
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	return &checks.Policy{Mode: mode, Net: netpolicy.New(netpolicy.Options{Allow: allow}), PluginDirs: dirs, PluginRules: rules}, nil
}

// apply parses the flags into env.Policy and logs the choice.
func (pf *policyFlags) apply(ctx context.Context, env *Env) error {
	p, err := pf.policy()
	if err != nil {
		return err
	}
	env.Policy = p
	if p.Hosted() {
		env.Logger.InfoContext(ctx, "execution policy hosted: shared zones run allow-listed plugins and reach public addresses only",
			slog.String("plugin_dirs", strings.Join(p.PluginDirs, ",")), slog.String("allow_net", pf.allowNet.String()))
	} else {
		env.Logger.InfoContext(ctx, "execution policy trusted: checks run what their configuration says")
	}
	return nil
}

// privateWorkerHint ends every apply-time refusal.
const privateWorkerHint = `run it on a private worker: worker-pool="<a zone of your own>" on the check, its host or its location`

// validatePolicy refuses, under a hosted policy, every check that would be
// refused when it runs in its (shared) zone: the engines' own rules
// (checks.PolicyChecker), asked with the request a worker would build.
// Checks in private zones, and every check under trusted, pass.
func validatePolicy(pol *checks.Policy, reg *checks.Registry) store.Validator {
	return func(m *config.Model) config.ErrorList {
		if !pol.Hosted() {
			return nil
		}
		var out config.ErrorList
		for _, ac := range store.ActiveChecks(m) {
			p := pol.ForZone(ac.Zone)
			if p == nil {
				continue
			}
			c := ac.Check
			e, ok := reg.Lookup(c.Command.Engine)
			if !ok {
				continue // workers report an engine they do not have
			}
			req := &checks.Request{Engine: c.Command.Engine, Executor: c.Command.Executor, Script: c.Command.Script,
				Parameters: ac.Params, CommandLine: ac.Params["command_line"], Zone: ac.Zone, Policy: p}
			if h := ac.Host; h != nil {
				req.HostName, req.HostAddress = h.Name, h.Address
				if req.HostAddress == "" {
					req.HostAddress = h.Name
				}
			}
			if err := checks.CheckPolicy(context.Background(), e, p, req); err != nil {
				out = append(out, &config.Error{File: c.Source.File, Line: c.Source.Line, Object: objectLabel(ac),
					Message: fmt.Sprintf("%v (zone %q is shared); %s", err, ac.Zone, privateWorkerHint)})
			}
		}
		return out
	}
}

func objectLabel(ac store.ActiveCheck) string {
	c := ac.Check
	if ac.Host != nil && ac.Host != c {
		return fmt.Sprintf("%s %q on host %q", c.Kind, c.Name, ac.Host.Name)
	}
	return fmt.Sprintf("%s %q", c.Kind, c.Name)
}

// sharedZones answers Policy.SharedZone on a serve node from the operator's
// zone list (gateway.Store.SharedZones), re-read at most every ttl. When the
// list cannot be read every zone counts as shared: the policy then refuses
// more, never less.
type sharedZones struct {
	st  *gateway.Store
	ttl time.Duration
	log *slog.Logger

	mu    sync.Mutex
	read  time.Time
	zones map[string]bool
	ok    bool
}

// Shared reports whether zone is an operator (shared) zone.
func (s *sharedZones) Shared(zone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.read) > s.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		names, err := s.st.SharedZones(ctx)
		cancel()
		s.read, s.ok = time.Now(), err == nil
		if err != nil {
			s.log.Warn("reading the shared zones; treating every zone as shared", slog.Any("err", err))
		} else {
			s.zones = make(map[string]bool, len(names))
			for _, n := range names {
				s.zones[n] = true
			}
		}
	}
	return !s.ok || s.zones[zone]
}
