package main

import (
	"context"
	"fmt"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// cmdSSH is `bergamot ssh forget-host-key --site SITE HOST:PORT`: drop the
// SSH host key a site trusted on first use, after a server was reinstalled.
func cmdSSH(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "forget-host-key" {
		return errUsage
	}
	fs := newFlags("ssh forget-host-key", "bergamot ssh forget-host-key --site SITE HOST:PORT")
	siteName := fs.String("site", "", "the site")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	db, err := env.OpenDB(ctx, true, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	sctx, site, err := siteContext(ctx, tenants.NewStore(db.Pool), *siteName)
	if err != nil {
		return err
	}
	found, err := (&store.HostKeys{Pool: db.Pool}).ForgetHostKey(sctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("site %s has no SSH host key recorded for %s (give HOST:PORT as the check's message shows it)", site.Name, fs.Arg(0))
	}
	fmt.Printf("forgot the SSH host key of %s for site %s: the next check trusts the key the server presents\n", fs.Arg(0), site.Name)
	return nil
}
