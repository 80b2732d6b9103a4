package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// siteUsage is `bergamot site`'s usage: the operator's view of sites.
const siteUsage = `bergamot site create [--summary TEXT] --admin EMAIL NAME   (password from BERGAMOT_PASSWORD or prompted)
  bergamot site sql-role NAME                                  a read-only SQL login for one site
  bergamot site list                                           every site, its members, checks and last activity
  bergamot site disable NAME | enable NAME                     refuse (or allow again) its members and pause its checks
  bergamot site export NAME [--out FILE]                       its accounts, audit log and configuration, as JSON
  bergamot site delete NAME --confirm NAME                     remove the site and every row of it, for good
  bergamot site invite [--email EMAIL] [--expires 168h]        a signup code, for serve --signup invite
  bergamot site limits SITE [NAME=VALUE ...] [--reset NAME ...] show or override the site's limits (docs/limits.md)`

// cmdSiteOperator runs the operator's site subcommands; ok is false for
// subcommands it does not know.
func cmdSiteOperator(ctx context.Context, env *Env, args []string) (ok bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case "list", "disable", "enable", "export", "delete", "invite":
	default:
		return false, nil
	}
	fs := newFlags("site "+args[0], siteUsage)
	confirm := fs.String("confirm", "", "delete: the site's name again")
	out := fs.String("out", "", "export: write to FILE instead of standard output")
	email := fs.String("email", "", "invite: only this email may use the code")
	note := fs.String("note", "", "invite: a note kept with the code")
	expires := fs.Duration("expires", 7*24*time.Hour, "invite: how long the code is valid")
	if err := fs.Parse(args[1:]); err != nil {
		return true, err
	}
	needName := args[0] != "list" && args[0] != "invite"
	if needName && fs.NArg() != 1 || !needName && fs.NArg() != 0 {
		return true, errUsage
	}
	db, err := env.OpenDB(ctx, true, 4)
	if err != nil {
		return true, err
	}
	defer db.Close()
	ts := tenants.NewStore(db.Pool)
	switch args[0] {
	case "list":
		return true, listSites(ctx, ts)
	case "disable", "enable":
		site, err := ts.SetSiteDisabled(ctx, fs.Arg(0), args[0] == "disable", store.SiteRows{})
		if err != nil {
			return true, err
		}
		if site.Disabled {
			fmt.Printf("site %s disabled: its members cannot sign in, its sessions and tokens are refused and its checks are paused\n", site.Name)
		} else {
			fmt.Printf("site %s enabled\n", site.Name)
		}
		return true, nil
	case "delete":
		if err := ts.DeleteSite(ctx, fs.Arg(0), *confirm, store.SiteRows{}); err != nil {
			return true, err
		}
		fmt.Printf("site %s deleted with all its data\n", fs.Arg(0))
		return true, nil
	case "export":
		return true, exportSite(ctx, env, db, ts, fs.Arg(0), *out)
	default: // invite
		code, until, err := ts.CreateSignupInvite(ctx, *email, *note, *expires)
		if err != nil {
			return true, err
		}
		fmt.Printf("%s\n\nSend this code to the person who may sign up a site (valid until %s, once). It is shown only now.\n", code, until.UTC().Format(time.RFC3339))
		return true, nil
	}
}

func listSites(ctx context.Context, ts *tenants.Store) error {
	sums, err := ts.SiteSummaries(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "NAME\tSTATE\tMEMBERS\tCHECKS\tCREATED\tLAST ACTIVE")
	for _, s := range sums {
		state, last := "active", "never"
		if s.Disabled {
			state = "disabled"
		}
		if s.LastSeen != nil {
			last = s.LastSeen.UTC().Format(time.RFC3339)
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, state, s.Members, s.Checks, s.CreatedAt.UTC().Format("2006-01-02"), last)
	}
	return w.Flush()
}

func exportSite(ctx context.Context, env *Env, db *DB, ts *tenants.Store, name, out string) error {
	ex, err := ts.ExportSite(ctx, name)
	if err != nil {
		return err
	}
	sealer, err := env.Sealer()
	if err != nil {
		return err
	}
	cfgs := &store.Configs{Sealer: sealer}
	err = tenants.InSite(tenants.WithSite(ctx, ex.Site.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := cfgs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		xml, err := config.Export(doc)
		ex.Config = string(xml)
		return err
	})
	if err != nil {
		return fmt.Errorf("exporting configuration: %w", err)
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		return errors.New("writing export: " + err.Error())
	}
	fmt.Fprintf(os.Stderr, "site %s exported to %s (%d members, %d audit entries)\n", ex.Site.Name, out, len(ex.Members), len(ex.Audit))
	return nil
}
