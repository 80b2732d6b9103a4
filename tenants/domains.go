package tenants

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
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
	return "SELECT set_config('bergamot.domains', (" + grantedSQL("'"+p.User.ID.String()+"'") + ")::text, true)"
}

// grantedSQL is the query of the security domains a member may read: the
// domains of their grants with the read permission, by email, sorted;
// user is an SQL expression of the member's users.id.
func grantedSQL(user string) string {
	return "SELECT COALESCE(array_agg(DISTINCT g.domain ORDER BY g.domain), '{}') " +
		"FROM domain_grants g WHERE g.email = (SELECT lower(u.email) FROM users u WHERE u.id = " + user + ") " +
		"AND 'read' = ANY (g.permissions)"
}

// restricted returns the principal whose domains confine ctx's
// transactions, or nil when they see the whole site.
func restricted(ctx context.Context) *Principal {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok || p == nil || readsWholeSite(p) {
		return nil
	}
	if whole, _ := ctx.Value(wholeSiteKey{}).(bool); whole {
		return nil
	}
	return p
}

// readsWholeSite reports whether p's role reads every security domain of
// its site whatever its grants: an administrator's.
func readsWholeSite(p *Principal) bool { return p.Role == RoleAdmin }

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
	err := InSite(ctx, db, func(ctx context.Context, tx pgx.Tx) error {
		var setting string
		if err := tx.QueryRow(ctx, `SELECT COALESCE(current_setting('bergamot.domains', true), '')`).Scan(&setting); err != nil {
			return fmt.Errorf("reading security domains: %w", err)
		}
		switch setting {
		case "*":
			d.All = true
		case "":
		default:
			if err := tx.QueryRow(ctx, `SELECT $1::text[]`, setting).Scan(&d.Readable); err != nil {
				return fmt.Errorf("reading security domains: %w", err)
			}
		}
		return nil
	})
	return d, err
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
// no longer active in the site with p's role (removed, disabled, their
// role changed, or their credential ended: StillValid fails) may read
// nothing at all (Domains.None); their connection is closed and signs in
// again. Long-lived readers (the
// live hub's subscriptions) call it when the site's configuration or
// memberships change.
func (s *Store) CurrentDomains(ctx context.Context, p *Principal) (Domains, error) {
	d, err := s.CurrentDomainsAll(ctx, p.Site.ID, []*Principal{p})
	if err != nil {
		return Domains{}, err
	}
	return d[0], nil
}

// CurrentDomainsAll is CurrentDomains for principals ps of site, in one
// transaction of two statements however many they are: the live hub
// re-reads all of a site's open subscriptions on a node at once, so a
// site with many dashboards open does not hold up other sites' live
// updates while it re-reads them one by one. out[i] is ps[i]'s.
func (s *Store) CurrentDomainsAll(ctx context.Context, site uuid.UUID, ps []*Principal) ([]Domains, error) {
	out := make([]Domains, len(ps))
	err := InSite(WithSite(ctx, site), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		ok, err := s.stillValid(ctx, tx, site, ps)
		if err != nil {
			return err
		}
		// stillValid holds only while each role is the member's role
		// now, so InSite's rule for each is the current one: the whole
		// site for an administrator, their grants for anyone else.
		var users []uuid.UUID
		var confined []int
		for i, p := range ps {
			switch {
			case !ok[i]:
				out[i] = Domains{None: true}
			case readsWholeSite(p):
				out[i] = Domains{All: true}
			default:
				users, confined = append(users, p.User.ID), append(confined, i)
			}
		}
		if len(users) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT (`+grantedSQL("x.uid")+`) FROM unnest($1::uuid[]) WITH ORDINALITY AS x(uid, i) ORDER BY x.i`, users)
		if err != nil {
			return err
		}
		granted, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
		if err != nil {
			return err
		}
		if len(granted) != len(users) {
			return fmt.Errorf("read the grants of %d members, want %d", len(granted), len(users))
		}
		for k, i := range confined {
			out[i] = Domains{Readable: granted[k]}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("re-reading members' access: %w", err)
	}
	return out, nil
}
