package tenants

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Security domains (docs/security-domains.md): the per-transaction rule of
// which checks a transaction may read. Migration 000042's row-level
// security policies read the setting bergamot.domains; InSite, SetSite and
// QueueSetSite are the only places that set it, together with the site,
// so no path reaches a site's rows without it:
//
//   - a signed-in member who is not an administrator (a Principal in the
//     context) gets the domains their contact may read: the contacts of
//     the site with the member's email address (domain_grants, written at
//     configuration apply);
//   - administrators, the system's own work (no Principal: the pipeline,
//     sweeps, notifier) and configuration apply (WholeSite) get "*".
//
// Checks in no domain are readable by every member: the roles alone
// govern them.

type wholeSiteKey struct{}

// WholeSite marks ctx as working on the site's configuration as a whole
// (apply, export): governed by the member's role, not by security domains,
// because applying a configuration replaces checks in every domain.
// Callers must have checked the role first (EditSite does).
func WholeSite(ctx context.Context) context.Context {
	return context.WithValue(ctx, wholeSiteKey{}, true)
}

// domainsSQL is the statement that sets bergamot.domains for the member
// whose user id is inlined (a uuid's text form: hex digits and dashes):
// the domains in which one of their contacts holds "read".
func domainsSQL(p *Principal) string {
	return "SELECT set_config('bergamot.domains', (SELECT COALESCE(array_agg(DISTINCT g.domain ORDER BY g.domain), '{}')::text " +
		"FROM domain_grants g WHERE g.email = (SELECT lower(u.email) FROM users u WHERE u.id = '" + p.User.ID.String() + "') " +
		"AND 'read' = ANY (g.permissions)), true)"
}

// restricted returns the principal whose domains confine ctx's
// transactions, or nil when they see the whole site.
func restricted(ctx context.Context) *Principal {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok || p == nil || p.Role == RoleAdmin {
		return nil
	}
	if whole, _ := ctx.Value(wholeSiteKey{}).(bool); whole {
		return nil
	}
	return p
}

// allDomainsSQL lifts the domain rule for the rest of the transaction.
const allDomainsSQL = "SELECT set_config('bergamot.domains', '*', true)"

// Domains is what a transaction may read: All, or the checks in no
// domain and those in Readable; None (a member no longer active) reads
// nothing.
type Domains struct {
	All      bool
	None     bool
	Readable []string
}

// Allows reports whether a check in the given domains may be read.
func (d Domains) Allows(domains []string) bool {
	if d.None {
		return false
	}
	if d.All || len(domains) == 0 {
		return true
	}
	for _, x := range domains {
		if slices.Contains(d.Readable, x) {
			return true
		}
	}
	return false
}

// ReadableDomains returns the rule InSite applies to ctx's transactions,
// for filters that run outside the database (the live hub's subscribers).
func ReadableDomains(ctx context.Context, db Beginner) (Domains, error) {
	var d Domains
	err := InSite(ctx, db, func(ctx context.Context, tx pgx.Tx) (err error) {
		d, err = transactionDomains(ctx, tx)
		return err
	})
	return d, err
}

// transactionDomains reads the rule tx runs under (bergamot.domains).
func transactionDomains(ctx context.Context, tx pgx.Tx) (Domains, error) {
	var d Domains
	var setting string
	if err := tx.QueryRow(ctx, `SELECT COALESCE(current_setting('bergamot.domains', true), '')`).Scan(&setting); err != nil {
		return d, fmt.Errorf("reading security domains: %w", err)
	}
	switch setting {
	case "*":
		d.All = true
	case "":
	default:
		if err := tx.QueryRow(ctx, `SELECT $1::text[]`, setting).Scan(&d.Readable); err != nil {
			return d, fmt.Errorf("reading security domains: %w", err)
		}
	}
	return d, nil
}

// MembersChannel is the NOTIFY channel (store.Listen names it) on which a
// change to a site's memberships is announced: a role changed, a member
// removed or disabled. Its payload is the site's id. The live hub listens
// on it (and on the configuration channel) to re-read what each open
// subscription of the site may receive.
const MembersChannel = "bergamot_members"

// notifyMembers announces, at commit of tx, that the memberships of the
// transaction's site changed.
func notifyMembers(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), bergamot_site()::text)`, MembersChannel); err != nil {
		return fmt.Errorf("announcing a membership change: %w", err)
	}
	return nil
}

// CurrentDomains re-reads what p may read now, from the database rather
// than from p (which holds p's role as it was when p's credential was
// checked): the rule InSite would apply to p's next transaction. A member
// no longer active in the site (removed, disabled, or their credential
// ended) may read nothing at all (Domains.None). Long-lived readers (the
// live hub's subscriptions) call it when the site's configuration or
// memberships change.
func (s *Store) CurrentDomains(ctx context.Context, p *Principal) (Domains, error) {
	ok, err := s.StillValid(ctx, p)
	if err != nil {
		return Domains{}, err
	}
	if !ok {
		return Domains{None: true}, nil
	}
	var d Domains
	err = InSite(WithSite(ctx, p.Site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var role Role
		err := tx.QueryRow(ctx, `SELECT m.role FROM memberships m WHERE m.user_id = $1 AND `+activeMember, p.User.ID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			d.None = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("re-reading a member's role: %w", err)
		}
		if role == RoleAdmin {
			d.All = true
			return nil
		}
		// The member's rule as InSite sets it, with the role read now.
		if _, err := tx.Exec(ctx, domainsSQL(p)); err != nil {
			return fmt.Errorf("re-reading a member's security domains: %w", err)
		}
		d, err = transactionDomains(ctx, tx)
		return err
	})
	return d, err
}
