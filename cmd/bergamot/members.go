package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// The operator's commands for a site's members and API tokens: the same
// lifecycle the dashboard and GraphQL give a site's administrators
// (docs/accounts.md), for an operator on the server (a locked-out site, a
// colleague who left while no administrator is around). Each change is
// written to the site's audit log as "operator:user disable", ... with the
// actor "operator".

const userUsage = `bergamot user create --site SITE --role admin|editor|viewer EMAIL  (password from BERGAMOT_PASSWORD or prompted)
  bergamot user list --site SITE
  bergamot user disable|enable|remove --site SITE EMAIL
  bergamot user require-password-change --site SITE EMAIL
  bergamot user reset-second-factors --site SITE EMAIL
  bergamot user sign-out --site SITE EMAIL   (ends every session of the member)`

const tokenUsage = `bergamot token create --site SITE --user EMAIL NAME
  bergamot token list --site SITE [--user EMAIL]
  bergamot token revoke --site SITE ID`

// memberActions are the `bergamot user` commands that act on one member,
// by name: each does its change and says what it did.
var memberActions = map[string]func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error){
	"disable": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		_, err := ts.SetMemberDisabled(ctx, operatorPrincipal(), m.ID, true)
		return fmt.Sprintf("disabled %s in site %s: their sessions ended; their tokens are refused until enabled", m.Email, site.Name), err
	},
	"enable": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		_, err := ts.SetMemberDisabled(ctx, operatorPrincipal(), m.ID, false)
		return fmt.Sprintf("enabled %s in site %s", m.Email, site.Name), err
	},
	"remove": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		_, err := ts.RemoveMember(ctx, operatorPrincipal(), m.ID)
		return fmt.Sprintf("removed %s from site %s: their sessions ended and their tokens are revoked", m.Email, site.Name), err
	},
	"require-password-change": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		_, err := ts.RequirePasswordChange(ctx, m.ID)
		return fmt.Sprintf("%s must change their password at their next use of site %s", m.Email, site.Name), err
	},
	"reset-second-factors": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		n, err := ts.ResetSecondFactors(ctx, m.ID)
		return fmt.Sprintf("removed %d second factor(s) of %s in site %s", n, m.Email, site.Name), err
	},
	"sign-out": func(ctx context.Context, ts *tenants.Store, site *tenants.Site, m *tenants.Member) (string, error) {
		n, err := ts.SignOutEverywhere(ctx, m.ID)
		return fmt.Sprintf("ended %d session(s) of %s in site %s", n, m.Email, site.Name), err
	},
}

// operatorPrincipal acts for the operator in the lifecycle rules that
// compare the actor with the member (no one removes themselves): the
// operator is no member.
func operatorPrincipal() *tenants.Principal {
	return &tenants.Principal{User: tenants.User{ID: uuid.Nil, Email: "operator"}, Role: tenants.RoleAdmin, Via: tenants.ViaOperator}
}

func cmdUser(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch sub := args[0]; sub {
	case "create":
		return cmdUserCreate(ctx, env, args[1:])
	case "list":
		fs := newFlags("user list", "bergamot user list --site SITE")
		siteName := fs.String("site", "", "the site")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
			members, err := ts.Members(ctx)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			_, _ = fmt.Fprintln(w, "EMAIL\tROLE\tSTATE")
			for _, m := range members {
				state := "active"
				switch {
				case m.Disabled:
					state = "disabled"
				case m.MustChangePassword:
					state = "must change password"
				}
				_, _ = fmt.Fprintf(w, "%s\t%s\t%s\n", m.Email, m.Role, state)
			}
			return w.Flush()
		})
	default:
		act, ok := memberActions[sub]
		if !ok {
			return fmt.Errorf("no user command %q: %w", sub, errUsage)
		}
		fs := newFlags("user "+sub, "bergamot user "+sub+" --site SITE EMAIL")
		siteName := fs.String("site", "", "the site")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errUsage
		}
		return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
			m, err := memberByEmail(ctx, ts, site, fs.Arg(0))
			if err != nil {
				return err
			}
			msg, err := act(ctx, ts, site, m)
			if aerr := ts.RecordOperator(ctx, "user "+sub, m.Email, nil, err); aerr != nil && err == nil {
				err = aerr
			}
			if err != nil {
				return err
			}
			fmt.Println(msg)
			return nil
		})
	}
}

func cmdUserCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("user create", "bergamot user create --site SITE --role admin|editor|viewer EMAIL")
	siteName := fs.String("site", "", "the site")
	roleName := fs.String("role", "viewer", "admin, editor or viewer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	role, err := tenants.ParseRole(*roleName)
	if err != nil {
		return err
	}
	pw, err := readPassword("password for " + fs.Arg(0))
	if err != nil {
		return err
	}
	return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
		m, err := ts.Invite(ctx, fs.Arg(0), pw, role)
		if err != nil {
			return err
		}
		fmt.Printf("added %s to site %s as %s\n", m.Email, site.Name, m.Role)
		return nil
	})
}

func cmdToken(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := newFlags("token "+args[0], tokenUsage)
	siteName := fs.String("site", "", "the site")
	email := fs.String("user", "", "the member the token acts as")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if fs.NArg() != 1 || *email == "" {
			return errUsage
		}
		return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
			m, err := memberByEmail(ctx, ts, site, *email)
			if err != nil {
				return err
			}
			tok, err := ts.CreateToken(ctx, m.ID, fs.Arg(0))
			if err != nil {
				return err
			}
			if err := ts.RecordOperator(ctx, "token create", m.Email, map[string]any{"name": fs.Arg(0)}, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "API token (shown once; store it now):")
			fmt.Println(tok)
			return nil
		})
	case "list":
		return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
			members, err := ts.Members(ctx)
			if err != nil {
				return err
			}
			emails := map[uuid.UUID]string{}
			for _, m := range members {
				emails[m.ID] = m.Email
			}
			user := uuid.Nil
			if *email != "" {
				m, err := findMember(members, site, *email)
				if err != nil {
					return err
				}
				user = m.ID
			}
			toks, err := ts.Tokens(ctx, user)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			_, _ = fmt.Fprintln(w, "ID\tMEMBER\tNAME\tCREATED\tLAST USED\tEXPIRES\tSTATE")
			for _, t := range toks {
				state := "active"
				switch {
				case t.RevokedAt != nil:
					state = "revoked " + day(t.RevokedAt)
				case t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()):
					state = "expired"
				}
				_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, emails[t.UserID], t.Name, day(&t.CreatedAt), day(t.LastUsed), day(t.ExpiresAt), state)
			}
			return w.Flush()
		})
	case "revoke":
		if fs.NArg() != 1 {
			return errUsage
		}
		id, err := uuid.Parse(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("%q is not a token id (the ID column of `bergamot token list`)", fs.Arg(0))
		}
		return withSite(ctx, env, *siteName, func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error {
			if err := ts.RevokeToken(ctx, id); err != nil {
				return err
			}
			if err := ts.RecordOperator(ctx, "token revoke", id.String(), nil, nil); err != nil {
				return err
			}
			fmt.Printf("revoked token %s in site %s\n", id, site.Name)
			return nil
		})
	default:
		return fmt.Errorf("no token command %q: %w", args[0], errUsage)
	}
}

// withSite opens the database and runs fn in the named site.
func withSite(ctx context.Context, env *Env, name string, fn func(ctx context.Context, ts *tenants.Store, site *tenants.Site) error) error {
	db, err := env.OpenDB(ctx, true, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	ts := tenants.NewStore(db.Pool)
	sctx, site, err := siteContext(ctx, ts, name)
	if err != nil {
		return err
	}
	return fn(sctx, ts, site)
}

// memberByEmail finds the member of site with email (any case).
func memberByEmail(ctx context.Context, ts *tenants.Store, site *tenants.Site, email string) (*tenants.Member, error) {
	members, err := ts.Members(ctx)
	if err != nil {
		return nil, err
	}
	return findMember(members, site, email)
}

// findMember finds the member with email (any case) among site's members.
func findMember(members []*tenants.Member, site *tenants.Site, email string) (*tenants.Member, error) {
	for _, m := range members {
		if strings.EqualFold(m.Email, strings.TrimSpace(email)) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s is not a member of site %s (`bergamot user list --site %s` lists them)", email, site.Name, site.Name)
}

// day formats an optional time for a listing ("-" when unset).
func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
