package tenants

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Site is a tenant.
type Site struct {
	ID        uuid.UUID
	Name      string
	Aliases   []string
	Summary   string
	Disabled  bool
	CreatedAt time.Time
	// Pending is set on a site just signed up through the API: it waits
	// for its admin's emailed confirmation (and reads as Disabled).
	Pending bool
}

// Role is a user's role in a site.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleEditor, RoleViewer:
		return r, nil
	}
	return "", errs.E(errs.Invalid, "unknown role %q: use admin, editor or viewer", s)
}

// CanEdit reports whether the role may change monitoring configuration and state.
func (r Role) CanEdit() bool { return r == RoleAdmin || r == RoleEditor }

// CanManageUsers reports whether the role may manage users and tokens of others.
func (r Role) CanManageUsers() bool { return r == RoleAdmin }

var siteNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// reservedNames cannot be site names: they are host names the service itself uses.
var reservedNames = map[string]bool{
	"www": true, "api": true, "app": true, "admin": true, "mail": true, "smtp": true, "status": true,
	"static": true, "assets": true, "cdn": true, "docs": true, "help": true, "support": true, "login": true,
	"signup": true, "auth": true, "agent": true, "agents": true, "graphql": true, "metrics": true, "bergamot": true,
	"localhost": true, "root": true, "system": true, "default": true, "internal": true,
}

// ValidateSiteName checks that name works as a DNS label and is not reserved.
func ValidateSiteName(name string) error {
	if !siteNameRE.MatchString(name) {
		return errs.E(errs.Invalid, "site name %q must be 1-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen (it becomes a host name)", name)
	}
	if reservedNames[name] {
		return errs.E(errs.Invalid, "site name %q is reserved", name)
	}
	return nil
}

// Store is the data access for sites, users and credentials. It is the only
// code that reads the system tables sites and users.
type Store struct {
	pool   *pgxpool.Pool
	limits Limits
	// limiter throttles failed sign-ins per account and per client address.
	limiter *LoginLimiter
	// gate bounds concurrent password hashing.
	gate *PasswordGate
	// signups throttles sign-ups per email and client address (per hour).
	signups *LoginLimiter
	// links delivers emailed single-use links (links.go); nil: none.
	links LinkSender
	// sealer seals TOTP secrets (secondfactor.go); nil: TOTP unavailable.
	sealer Sealer
}

// NewStore returns a Store over the application pool with DefaultLimits.
func NewStore(pool *pgxpool.Pool) *Store {
	return NewStoreWithLimits(pool, Limits{})
}

// NewStoreWithLimits returns a Store with the operator's limits (zero fields
// take their defaults).
func NewStoreWithLimits(pool *pgxpool.Pool, l Limits) *Store {
	l = l.withDefaults()
	return &Store{pool: pool, limits: l, limiter: NewSharedLimiter(pool, "login", l.LoginWindow), signups: NewSharedLimiter(pool, "signup", time.Hour),
		gate: NewPasswordGate(l.PasswordHashes, l.PasswordQueue, l.PasswordWait)}
}

// Pool returns the application pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// CreateSite creates a site. It fails with Conflict when the name is taken.
func CreateSite(ctx context.Context, tx pgx.Tx, name, summary string) (*Site, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if err := ValidateSiteName(name); err != nil {
		return nil, err
	}
	site := &Site{ID: uuid.New(), Name: name, Summary: summary}
	err := tx.QueryRow(ctx, `INSERT INTO sites (id, name, summary) VALUES ($1, $2, $3) RETURNING created_at`,
		site.ID, site.Name, site.Summary).Scan(&site.CreatedAt)
	if isUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "site name %q is already taken", name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating site: %w", err)
	}
	return site, nil
}

// A site waiting for its sign-up's emailed confirmation reads as disabled.
const siteColumns = `id, name, aliases, summary, disabled OR pending_since IS NOT NULL, created_at`

func scanSite(row pgx.Row) (*Site, error) {
	var s Site
	if err := row.Scan(&s.ID, &s.Name, &s.Aliases, &s.Summary, &s.Disabled, &s.CreatedAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "no such site")
		}
		return nil, fmt.Errorf("reading site: %w", err)
	}
	return &s, nil
}

// SiteByName finds a site by its name or one of its aliases.
func (s *Store) SiteByName(ctx context.Context, name string) (*Site, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	site, err := scanSite(s.pool.QueryRow(ctx, `SELECT `+siteColumns+` FROM sites WHERE name = $1 OR $1 = ANY (aliases)`, name))
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "no site named %q", name)
	}
	return site, err
}

// SiteByID finds a site by id.
func (s *Store) SiteByID(ctx context.Context, id uuid.UUID) (*Site, error) {
	return scanSite(s.pool.QueryRow(ctx, `SELECT `+siteColumns+` FROM sites WHERE id = $1`, id))
}

// SiteByHost resolves a request's site from its host name: either an alias
// (a full host name) or "<site>.<domain>". It returns NotFound when the
// host names no site.
func (s *Store) SiteByHost(ctx context.Context, host, domain string) (*Site, error) {
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	if domain != "" {
		if label, ok := strings.CutSuffix(host, "."+strings.ToLower(domain)); ok && !strings.Contains(label, ".") {
			return s.SiteByName(ctx, label)
		}
	}
	return scanSite(s.pool.QueryRow(ctx, `SELECT `+siteColumns+` FROM sites WHERE $1 = ANY (aliases)`, host))
}

// ListSites returns every site (for administrators of the installation).
func (s *Store) ListSites(ctx context.Context) ([]*Site, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+siteColumns+` FROM sites ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	defer rows.Close()
	var out []*Site
	for rows.Next() {
		site, err := scanSite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, site)
	}
	return out, rows.Err()
}
