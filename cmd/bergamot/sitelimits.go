package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

const siteLimitsUsage = `bergamot site limits SITE [NAME=VALUE ...] [--reset NAME ...]

  Shows the site's limits (its own value, or the installation default set by
  BERGAMOT_LIMIT_<NAME>), sets per-site overrides with NAME=VALUE, and
  removes them with --reset NAME. Changes reach every node within 10 s.`

// cmdSiteLimits is `bergamot site limits`: the operator's per-site limits.
func cmdSiteLimits(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("site limits", siteLimitsUsage)
	var resets []string
	fs.Func("reset", "remove the site's override of `NAME` (repeatable)", func(s string) error { resets = append(resets, s); return nil })
	// Flags may follow the site name: parse in two rounds.
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return errUsage
	}
	siteName := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return err
	}
	sets := map[string]int64{}
	var order []string
	for _, a := range fs.Args() {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: write NAME=VALUE, e.g. %s=500", a, tenants.LimitChecksInFlight)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%s: the value must be a whole number", name, val)
		}
		sets[strings.TrimSpace(name)] = n
		order = append(order, strings.TrimSpace(name))
	}
	defaults, err := tenants.LimitDefaultsFromEnv(nil)
	if err != nil {
		return err
	}
	db, err := env.OpenDB(ctx, true, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	site, err := tenants.NewStore(db.Pool).SiteByName(ctx, siteName)
	if err != nil {
		return err
	}
	lim := tenants.NewSiteLimits(db.Pool, defaults)
	for _, name := range order {
		if err := lim.Set(ctx, site.ID, name, sets[name]); err != nil {
			return err
		}
	}
	for _, name := range resets {
		if err := lim.Reset(ctx, site.ID, name); err != nil {
			return err
		}
	}
	vals, err := lim.List(ctx, site.ID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "limit\tvalue\tfrom\tbounds\n")
	for _, v := range vals {
		from := "default"
		if v.Overridden {
			from = "site " + site.Name
		} else if os.Getenv(v.EnvName()) != "" {
			from = v.EnvName()
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", v.Name, v.Value, from, v.Help)
	}
	return w.Flush()
}
