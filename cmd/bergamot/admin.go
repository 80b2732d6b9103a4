package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/term"

	"github.com/bergamot-monitoring/bergamot/config"
	nagiosimport "github.com/bergamot-monitoring/bergamot/config/nagios"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func cmdMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("migrate", "bergamot migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := env.OpenDB(ctx, true, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Println("database schema is up to date")
	return nil
}

func cmdSite(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "sql-role" {
		return cmdSQLRole(ctx, env, args[1:])
	}
	if len(args) > 0 && args[0] == "limits" {
		return cmdSiteLimits(ctx, env, args[1:])
	}
	if ok, err := cmdSiteOperator(ctx, env, args); ok {
		return err
	}
	if len(args) == 0 || args[0] != "create" {
		return errUsage
	}
	fs := newFlags("site create", "bergamot site create [--summary TEXT] --admin EMAIL NAME  (password from BERGAMOT_PASSWORD or prompted)")
	summary := fs.String("summary", "", "a one-line description")
	admin := fs.String("admin", "", "email of the site's first administrator")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *admin == "" {
		return errUsage
	}
	pw, err := readPassword("password for " + *admin)
	if err != nil {
		return err
	}
	db, err := env.OpenDB(ctx, true, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	sealer, err := env.Sealer()
	if err != nil {
		return err
	}
	// Like a signup: the site starts with the default templates.
	init := defaultSite(&store.Configs{Sealer: sealer, Validators: validators()})
	site, m, err := tenants.NewStore(db.Pool).SignUp(ctx, tenants.SignUpInput{SiteName: fs.Arg(0), Summary: *summary, Email: *admin, Password: pw}, init)
	if err != nil {
		return err
	}
	fmt.Printf("created site %s (%s) with administrator %s\n", site.Name, site.ID, m.Email)
	return nil
}

func readPassword(prompt string) (string, error) {
	if pw := os.Getenv("BERGAMOT_PASSWORD"); pw != "" {
		return pw, nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password: set BERGAMOT_PASSWORD or type it on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprintf(os.Stderr, "%s: ", prompt)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(b), err
}

func siteContext(ctx context.Context, ts *tenants.Store, name string) (context.Context, *tenants.Site, error) {
	if name == "" {
		return nil, nil, errors.New("--site SITE is required (the site's name, e.g. --site demo; sites are made by `bergamot run` or `bergamot site create`)")
	}
	site, err := ts.SiteByName(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return tenants.WithSite(ctx, site.ID), site, nil
}

func cmdConfig(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "validate":
		fs := newFlags("config validate", "bergamot config validate FILE|DIR...")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return errUsage
		}
		doc, err := config.LoadPaths(fs.Args()...)
		if err != nil {
			return printValidateErrors(err)
		}
		model, err := config.Resolve(doc)
		if err != nil {
			return printValidateErrors(err)
		}
		if errs := config.ValidateConditions(model); len(errs) > 0 {
			return printValidateErrors(errs)
		}
		for _, w := range model.Warnings {
			fmt.Fprintf(os.Stderr, "warning: %s\n", w)
		}
		n := 0
		for _, h := range model.Hosts {
			n += 1 + len(h.Services) + len(h.Traps)
		}
		fmt.Printf("configuration is valid: %d objects, %d hosts, %d checks, %d commands\n", doc.Len(), len(model.Hosts), n, len(model.Commands))
		return nil
	case "apply":
		fs := newFlags("config apply", "bergamot config apply --site SITE [--dry-run] FILE|DIR...")
		siteName := fs.String("site", "", "the site to apply to")
		dry := fs.Bool("dry-run", false, "validate and show the changes without applying them")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return errUsage
		}
		doc, err := config.LoadPaths(fs.Args()...)
		if err != nil {
			return printConfigErrors(err)
		}
		db, err := env.OpenDB(ctx, true, 4)
		if err != nil {
			return err
		}
		defer db.Close()
		sealer, err := env.Sealer()
		if err != nil {
			return err
		}
		ts := tenants.NewStore(db.Pool)
		sctx, site, err := siteContext(ctx, ts, *siteName)
		if err != nil {
			return err
		}
		cfgs := &store.Configs{Sealer: sealer, Validators: validators()}
		var res *store.ApplyResult
		err = tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			res, err = cfgs.Apply(ctx, tx, doc, "cli:"+currentUser(), strings.Join(fs.Args(), " "), *dry)
			return err
		})
		if err != nil {
			return err
		}
		if !res.OK {
			return printConfigErrors(res.Errors)
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(os.Stderr, "warning: %s\n", w)
		}
		if res.Diff != "" {
			fmt.Print(res.Diff)
		}
		fmt.Println(applySummary(site.Name, *dry, res.Added, res.Changed, res.Removed))
		return nil
	case "export":
		fs := newFlags("config export", "bergamot config export --site SITE")
		siteName := fs.String("site", "", "the site to export")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		db, err := env.OpenDB(ctx, true, 4)
		if err != nil {
			return err
		}
		defer db.Close()
		sealer, err := env.Sealer()
		if err != nil {
			return err
		}
		sctx, _, err := siteContext(ctx, tenants.NewStore(db.Pool), *siteName)
		if err != nil {
			return err
		}
		cfgs := &store.Configs{Sealer: sealer}
		return tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			doc, err := cfgs.LoadDocument(ctx, tx)
			if err != nil {
				return err
			}
			out, err := config.Export(doc)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		})
	}
	return errUsage
}

// applySummary is the last line `config apply` prints.
func applySummary(site string, dry bool, added, changed, removed int) string {
	switch {
	case added+changed+removed == 0 && dry:
		return fmt.Sprintf("no changes (dry run): site %s already has this configuration", site)
	case added+changed+removed == 0:
		return fmt.Sprintf("no changes: site %s already has this configuration", site)
	case dry:
		return fmt.Sprintf("would apply to site %s (dry run, nothing changed): %d added, %d changed, %d removed", site, added, changed, removed)
	}
	return fmt.Sprintf("applied to site %s: %d added, %d changed, %d removed", site, added, changed, removed)
}

// currentUser names the author of CLI configuration revisions.
func currentUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username // USER is unset under cron, systemd and docker exec
	}
	return "unknown"
}

// printValidateErrors is printConfigErrors for `config validate`, which
// changes nothing anyway; when the files refer to objects they do not define
// it points at apply --dry-run, which checks them against a site.
func printValidateErrors(err error) error {
	var list config.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	unknown := false
	for _, e := range list {
		fmt.Fprintln(os.Stderr, e.Error())
		unknown = unknown || strings.Contains(e.Error(), ": unknown template") || strings.Contains(e.Error(), ": unknown command") || strings.Contains(e.Error(), ": unknown team")
	}
	if unknown {
		fmt.Fprintln(os.Stderr, "\nnote: validate checks the files on their own. To check files that use a site's templates and\ncommands against that site, run: bergamot config apply --dry-run --site SITE FILE...")
	}
	return fmt.Errorf("configuration has %d error(s)", len(list))
}

func printConfigErrors(err error) error {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(os.Stderr, e.Error())
		}
		return fmt.Errorf("configuration has %d error(s); nothing was changed", len(list))
	}
	return err
}

func cmdImport(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] != "nagios" {
		return errUsage
	}
	fs := newFlags("import nagios", "bergamot import nagios [--site SITE] [--xml OUT] nagios.cfg|FILE|DIR...")
	siteName := fs.String("site", "", "apply the converted configuration to this site")
	out := fs.String("xml", "", "write the converted Bergamot XML to this file (- for standard output)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 || (*siteName == "" && *out == "") {
		return fmt.Errorf("give files to import and --xml OUT, --site SITE or both: %w", errUsage)
	}
	res, err := nagiosimport.ImportContext(ctx, nagiosimport.Options{Site: *siteName}, fs.Args()...)
	if err != nil {
		if strings.Contains(err.Error(), "is not defined anywhere") && !strings.Contains(strings.Join(fs.Args(), " "), "nagios-plugins") {
			if _, serr := os.Stat("/etc/nagios-plugins/config"); serr == nil {
				err = fmt.Errorf("%w\n\nnote: Debian defines the plugin commands (check_ping, check_http, ...) in /etc/nagios-plugins/config;\nadd that directory to the command line, or give the nagios.cfg that includes it", err)
			}
		}
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w.String())
	}
	fmt.Fprintf(os.Stderr, "converted %d hosts, %d services, %d commands, %d contacts, %d teams, %d time periods, %d templates (%d warnings)\n",
		res.Stats.Hosts, res.Stats.Services, res.Stats.Commands, res.Stats.Contacts, res.Stats.Teams, res.Stats.TimePeriods, res.Stats.Templates, len(res.Warnings))
	switch *out {
	case "":
	case "-":
		if _, err := os.Stdout.Write(res.XML); err != nil {
			return err
		}
	default:
		if err := os.WriteFile(*out, res.XML, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	}
	if *siteName != "" {
		tmp, err := os.CreateTemp("", "bergamot-import-*.xml")
		if err != nil {
			return err
		}
		defer func() { _ = os.Remove(tmp.Name()) }() // best effort: a leftover file in the temp directory harms nothing
		if _, err := tmp.Write(res.XML); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return cmdConfig(ctx, env, []string{"apply", "--site", *siteName, tmp.Name()})
	}
	return nil
}

func cmdBench(ctx context.Context, env *Env, args []string) error {
	return runBench(ctx, env, args)
}

func cmdSQLRole(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("site sql-role", "bergamot site sql-role SITE")
	if err := fs.Parse(args); err != nil {
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
	site, err := tenants.NewStore(db.Pool).SiteByName(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	role, err := tenants.CreateSQLRole(ctx, conn, site)
	if err != nil {
		return err
	}
	fmt.Printf("read-only SQL login for site %s (shown once):\n  user:     %s\n  password: %s\n", site.Name, role.Name, role.Password)
	fmt.Println("It sees only this site's rows; try: SELECT * FROM reporting.availability_30d;")
	return nil
}
