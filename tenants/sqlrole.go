package tenants

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// SQLRole is a read-only PostgreSQL login for one site's reporting.
type SQLRole struct {
	Name     string
	Password string
}

// CreateSQLRole creates (or resets the password of) a login role that can
// read the site's tables and the reporting.* views and nothing else: the
// same row-level security policies confine it to the site. It needs the
// owner connection (roles are created by the database owner).
func CreateSQLRole(ctx context.Context, owner *pgx.Conn, site *Site) (*SQLRole, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	role := &SQLRole{Name: "bergamot_report_" + strings.ReplaceAll(site.Name, "-", "_"), Password: base64.RawURLEncoding.EncodeToString(b)}
	if len(role.Name) > 63 {
		return nil, errs.E(errs.Invalid, "site name too long for a role name")
	}
	ident := pgx.Identifier{role.Name}.Sanitize()
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role.Name).Scan(&exists); err != nil {
			return err
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		// Passwords cannot be bound parameters in CREATE ROLE; the value is
		// base64url (no quotes), so quoting it as a literal is safe.
		if _, err := tx.Exec(ctx, fmt.Sprintf(`%s ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD '%s'`, verb, ident, role.Password)); err != nil {
			return fmt.Errorf("creating role: %w", err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`GRANT bergamot_reporting TO %s`, ident)); err != nil {
			return fmt.Errorf("granting reporting: %w", err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`ALTER ROLE %s SET role = 'bergamot_reporting'`, ident)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sql_roles (role_name, site_id) VALUES ($1, $2) ON CONFLICT (role_name) DO UPDATE SET site_id = EXCLUDED.site_id`, role.Name, site.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return role, nil
}
