package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Security domains (docs/security-domains.md). Reading is confined by
// row-level security (migration 000042, tenants/domains.go); this file
// owns domain_grants, what each contact may do per domain, and the check
// every action on a check makes before it changes anything.

// queueDomainGrants queues the rows of domain_grants for m (the table was
// emptied by writeSupport): one per contact and domain where the contact
// holds a permission.
func queueDomainGrants(b *pgx.Batch, site uuid.UUID, m *config.Model) {
	for _, c := range m.Contacts {
		for domain, perms := range m.ContactPermissions(c) {
			b.Queue(`INSERT INTO domain_grants (site_id, contact, email, domain, permissions) VALUES ($1, $2, $3, $4, $5)`,
				site, c.Name, strings.ToLower(strings.TrimSpace(c.Email)), domain, perms)
		}
	}
}

// requireWholeSite refuses to apply a configuration in a transaction that
// sees only some security domains: the apply would not see (and would
// then duplicate or fail on) the checks it cannot read.
func requireWholeSite(ctx context.Context, tx pgx.Tx) error {
	var whole bool
	if err := tx.QueryRow(ctx, `SELECT COALESCE(current_setting('bergamot.domains', true), '') = '*'`).Scan(&whole); err != nil {
		return fmt.Errorf("reading security domains: %w", err)
	}
	if !whole {
		return errs.E(errs.Internal, "a configuration is applied to the whole site: begin the transaction with tenants.WholeSite")
	}
	return nil
}

// Authorize reports, before an action changes anything, whether the
// caller may do perm (config.PermAcknowledge, ...) on the check: NotFound
// when they cannot read it (as if it did not exist), Forbidden when they
// read it but their security domains do not grant perm. Administrators
// and the system's own work may do anything; a check in no domain is
// governed by the role alone.
func Authorize(ctx context.Context, tx pgx.Tx, id uuid.UUID, perm string) error {
	user := uuid.Nil
	if p, err := tenants.PrincipalFrom(ctx); err == nil {
		user = p.User.ID
	}
	var allowed bool
	err := tx.QueryRow(ctx, `SELECT COALESCE(current_setting('bergamot.domains', true), '') = '*' OR cardinality(c.security_domains) = 0
		OR EXISTS (SELECT 1 FROM domain_grants g
			WHERE g.email = (SELECT lower(u.email) FROM users u WHERE u.id = $3)
			AND g.domain = ANY (c.security_domains) AND $2 = ANY (g.permissions))
		FROM checks c WHERE c.id = $1`, id, perm, user).Scan(&allowed)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "no check with id %q", id)
	}
	if err != nil {
		return fmt.Errorf("checking security domains: %w", err)
	}
	if !allowed {
		return errs.E(errs.Forbidden, "your security domains do not grant %q on this check; ask an administrator (see docs/security-domains.md)", perm)
	}
	return nil
}

// ContactReadDomains returns, per contact of the site, the security
// domains it may read: the notifier sends a contact only checks it may
// read (a check in no domain, or in one of these).
func ContactReadDomains(ctx context.Context, tx pgx.Tx) (map[string][]string, error) {
	rows, err := tx.Query(ctx, `SELECT contact, array_agg(domain ORDER BY domain) FROM domain_grants
		WHERE 'read' = ANY (permissions) GROUP BY contact`)
	if err != nil {
		return nil, fmt.Errorf("reading contacts' security domains: %w", err)
	}
	out := map[string][]string{}
	var contact string
	var domains []string
	_, err = pgx.ForEachRow(rows, []any{&contact, &domains}, func() error {
		out[contact] = domains
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading contacts' security domains: %w", err)
	}
	return out, nil
}

// ContactAuthorize is Authorize for a contact rather than a signed-in
// member: the acknowledge links in notifications act for the contact they
// were sent to, so its own grants decide. A check in no security domain
// allows every contact.
func ContactAuthorize(ctx context.Context, tx pgx.Tx, contact string, id uuid.UUID, perm string) error {
	var allowed bool
	err := tx.QueryRow(ctx, `SELECT cardinality(c.security_domains) = 0
		OR EXISTS (SELECT 1 FROM domain_grants g
			WHERE g.contact = $3 AND g.domain = ANY (c.security_domains) AND $2 = ANY (g.permissions))
		FROM checks c WHERE c.id = $1`, id, perm, contact).Scan(&allowed)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "no check with id %q", id)
	}
	if err != nil {
		return fmt.Errorf("checking security domains: %w", err)
	}
	if !allowed {
		return errs.E(errs.Forbidden, "contact %q may not %s this check (its security domains do not grant it); ask an administrator", contact, perm)
	}
	return nil
}
