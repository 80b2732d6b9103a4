package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

//go:embed demo.xml
var demoXML []byte

// demoFiles holds the stock Bergamot templates the NRPE demo host uses
// (demo/base, copied unchanged from Bergamot) and that host (nrpe-host.xml).
//
//go:embed demo
var demoFiles embed.FS

const demoSite, demoEmail = "demo", "admin@demo.example"

// ensureDemo starts the demo's private NRPE daemon (stopped when ctx ends,
// through g), creates the demo site with its admin and configuration the
// first time, and prints the admin's credentials every time.
func ensureDemo(ctx context.Context, env *Env, db *DB, httpPort string, g *errgroup.Group) error {
	nrpePort := startDemoNRPE(ctx, env, g)
	credFile := filepath.Join(env.Data, "demo-admin.txt")
	ts := tenants.NewStore(db.Pool)
	_, err := ts.SiteByName(ctx, demoSite)
	if errs.Is(err, errs.NotFound) {
		pw := "Demo-" + randomWord()
		sealer, err := env.Sealer()
		if err != nil {
			return err
		}
		doc, err := demoDocument(httpPort, nrpePort)
		if err != nil {
			return err
		}
		cfgs := &store.Configs{Sealer: sealer, Validators: validators()}
		site, _, err := ts.SignUp(ctx, tenants.SignUpInput{SiteName: demoSite, Summary: "Bergamot demo", Email: demoEmail, Password: pw},
			func(ctx context.Context, tx pgx.Tx, s *tenants.Site) error {
				res, err := cfgs.Apply(tenants.WithSite(ctx, s.ID), tx, doc, "bergamot run (demo)", "demo.xml", false)
				if err != nil {
					return err
				}
				if !res.OK {
					return res.Errors
				}
				return nil
			})
		if err != nil {
			return err
		}
		if err := os.MkdirAll(env.Data, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(credFile, []byte(fmt.Sprintf("site=%s\nemail=%s\npassword=%s\n", demoSite, demoEmail, pw)), 0o600); err != nil {
			return err
		}
		env.Logger.InfoContext(ctx, "created demo site", slog.String("site", site.Name))
	} else if err != nil {
		return err
	}
	creds, err := os.ReadFile(credFile)
	if err != nil {
		// Not fatal: the demo runs; only the reminder of the password is lost.
		fmt.Fprintf(os.Stderr, "\n  Demo site %q exists (its admin credentials file cannot be read: %v).\n", demoSite, err)
		return nil
	}
	var pw string
	for _, l := range strings.Split(string(creds), "\n") {
		if v, ok := strings.CutPrefix(l, "password="); ok {
			pw = v
		}
	}
	fmt.Fprintf(os.Stderr, "\n  Demo site: %s   sign in as %s / %s\n", demoSite, demoEmail, pw)
	return nil
}

func randomWord() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString(b)) + "7"
}
