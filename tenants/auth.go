package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Principal is who is making a request: a user in a site with a role.
type Principal struct {
	Site   *Site
	User   User
	Role   Role
	Via    string // "token" or "session"
	CredID uuid.UUID
	// MustChangePassword: an administrator asked this user to change their
	// password; until they do, the APIs allow little else.
	MustChangePassword bool
	// MustEnrolSecondFactor: the site requires a second factor and this
	// member (signed in with a session) has none; until they enrol one the
	// APIs allow little else. API tokens are not affected.
	MustEnrolSecondFactor bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p and p's site.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return WithSite(context.WithValue(ctx, principalKey{}, p), p.Site.ID)
}

// PrincipalFrom returns the authenticated principal, or Unauthenticated.
func PrincipalFrom(ctx context.Context) (*Principal, error) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok || p == nil {
		return nil, errs.E(errs.Unauthenticated, "sign in or send an API token (Authorization: Bearer ...)")
	}
	return p, nil
}

// Token prefixes: tokens carry their site so the site is known before the
// token is looked up under row-level security.
const (
	tokenPrefix   = "bgt_"
	sessionPrefix = "bgs_"
)

func newSecret(prefix string, site uuid.UUID) (plain string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generating token: %w", err)
	}
	plain = prefix + strings.ReplaceAll(site.String(), "-", "") + "_" + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(plain))
	return plain, h[:], nil
}

func parseSecret(prefix, plain string) (uuid.UUID, []byte, error) {
	rest, ok := strings.CutPrefix(plain, prefix)
	if !ok {
		return uuid.Nil, nil, errs.E(errs.Unauthenticated, "malformed credential")
	}
	sitePart, _, ok := strings.Cut(rest, "_")
	site, err := uuid.Parse(sitePart)
	if !ok || err != nil {
		return uuid.Nil, nil, errs.E(errs.Unauthenticated, "malformed credential")
	}
	h := sha256.Sum256([]byte(plain))
	return site, h[:], nil
}

// CreateToken creates an API token for user in the site in ctx. The plain
// token is returned once; only its SHA-256 hash is stored.
func (s *Store) CreateToken(ctx context.Context, userID uuid.UUID, name string) (string, error) {
	return s.CreateTokenExpiring(ctx, userID, name, nil)
}

// CreateTokenExpiring is CreateToken for a token that stops working at
// expires (nil: never).
func (s *Store) CreateTokenExpiring(ctx context.Context, userID uuid.UUID, name string, expires *time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", errs.E(errs.Invalid, "token name must be 1-100 characters")
	}
	if expires != nil && !expires.After(time.Now()) {
		return "", errs.E(errs.Invalid, "expiresAt %s is not in the future", expires.UTC().Format(time.RFC3339))
	}
	site, err := SiteFrom(ctx)
	if err != nil {
		return "", err
	}
	plain, hash, err := newSecret(tokenPrefix, site)
	if err != nil {
		return "", err
	}
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships m WHERE m.user_id = $1 AND `+activeMember, userID).Scan(&n); err != nil {
			return fmt.Errorf("creating token: %w", err)
		}
		if n == 0 {
			return errs.E(errs.NotFound, "no such user in this site")
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, site_id, user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			uuid.New(), site, userID, name, hash, expires)
		if err != nil {
			return fmt.Errorf("creating token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return plain, nil
}

// RevokeToken revokes a token of the site in ctx.
func (s *Store) RevokeToken(ctx context.Context, id uuid.UUID) error {
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("revoking token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such token")
		}
		return nil
	})
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Name      string
	CreatedAt time.Time
	LastUsed  *time.Time
	RevokedAt *time.Time
	ExpiresAt *time.Time
}

// Tokens lists the tokens of the site in ctx (all users' when userID is Nil).
func (s *Store) Tokens(ctx context.Context, userID uuid.UUID) ([]*TokenInfo, error) {
	var out []*TokenInfo
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, user_id, name, created_at, last_used, revoked_at, expires_at FROM api_tokens
			WHERE $1::uuid IS NULL OR user_id = $1 ORDER BY created_at`, nilIfZero(userID))
		if err != nil {
			return fmt.Errorf("listing tokens: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t TokenInfo
			if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.LastUsed, &t.RevokedAt, &t.ExpiresAt); err != nil {
				return fmt.Errorf("listing tokens: %w", err)
			}
			out = append(out, &t)
		}
		return rows.Err()
	})
	return out, err
}

func nilIfZero(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

// Authenticate resolves a bearer token or session secret to a principal.
// A token must be unrevoked and unexpired; a session within its absolute
// and idle lifetimes and opened after the user's last password change; the
// membership must not be disabled nor the site. Use moves a token's
// last_used and a session's last_seen on (at most once a minute).
func (s *Store) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	var table, via, prefix string
	switch {
	case strings.HasPrefix(secret, tokenPrefix):
		table, via, prefix = "api_tokens", "token", tokenPrefix
	case strings.HasPrefix(secret, sessionPrefix):
		table, via, prefix = "sessions", "session", sessionPrefix
	default:
		return nil, errs.E(errs.Unauthenticated, "unrecognised credential")
	}
	siteID, hash, err := parseSecret(prefix, secret)
	if err != nil {
		return nil, err
	}
	site, err := s.SiteByID(ctx, siteID)
	if err != nil || site.Disabled {
		return nil, errs.E(errs.Unauthenticated, "invalid or revoked credential")
	}
	p := &Principal{Site: site, Via: via}
	cond := "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"
	args := []any{hash}
	enrol := "false"
	if table == "sessions" {
		enrol = mustEnrol
		cond, args = sessionValid, append(args, s.limits.SessionIdle.Seconds())
	}
	err = InSite(WithSite(ctx, siteID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var touchIt bool
		err := tx.QueryRow(ctx, `SELECT t.id, u.id, u.email, u.display_name, u.created_at, m.role, u.must_change_password, `+enrol+`, `+useStale(via)+`
			FROM `+table+` t JOIN users u ON u.id = t.user_id JOIN memberships m ON m.user_id = t.user_id
			WHERE t.token_hash = $1 AND `+activeMember+` AND `+cond, args...).
			Scan(&p.CredID, &p.User.ID, &p.User.Email, &p.User.DisplayName, &p.User.CreatedAt, &p.Role, &p.MustChangePassword, &p.MustEnrolSecondFactor, &touchIt)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.Unauthenticated, "invalid, expired or revoked credential")
		}
		if err != nil {
			return fmt.Errorf("authenticating: %w", err)
		}
		if !touchIt {
			return nil
		}
		return recordUse(ctx, tx, via, p.CredID)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// activeMember is the condition on a membership row m that lets its user
// in: accepted (not a pending invitation) and not disabled. Login,
// Authenticate and StillValid all apply it.
const activeMember = `NOT m.pending AND m.disabled_at IS NULL`

// credentialUse is where a credential's use is recorded: a token's
// last_used, a session's last_seen.
var credentialUse = map[string]struct{ table, column string }{
	"token":   {"api_tokens", "last_used"},
	"session": {"sessions", "last_seen"},
}

// useStale is the condition, on the credential row t of kind via ("token"
// or "session"), that its use is worth recording: the last record is over
// a minute old. Callers select it with the credential and call recordUse
// only when it holds, so a request costs no statement of its own more than
// once a minute.
func useStale(via string) string {
	c := "t." + credentialUse[via].column
	return c + ` IS NULL OR ` + c + ` < now() - interval '1 minute'`
}

// recordUse records the use of the credentials ids of kind via (at most
// once a minute: a concurrent request may have recorded it already), in
// one statement. It is the one writer of api_tokens.last_used and
// sessions.last_seen after their creation.
func recordUse(ctx context.Context, tx pgx.Tx, via string, ids ...uuid.UUID) error {
	u, ok := credentialUse[via]
	if !ok {
		return fmt.Errorf("recording use: unknown credential kind %q", via)
	}
	_, err := tx.Exec(ctx, `UPDATE `+u.table+` t SET `+u.column+` = now() WHERE t.id = ANY($1) AND (`+useStale(via)+`)`, ids)
	return err
}

// mustEnrol is true for a session row t of user u when the site requires
// a second factor and u has none confirmed (second factors: secondfactor.go).
const mustEnrol = `(COALESCE((SELECT (st.settings->>'require_second_factor')::boolean FROM sites st WHERE st.id = t.site_id), false)
	AND NOT EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = u.id AND f.confirmed))`

// sessionValid is the condition on a session row t (joined with its user
// u) that keeps it signed in; $2 is the idle lifetime in seconds.
const sessionValid = `t.expires_at > now() AND t.last_seen > now() - make_interval(secs => $2::float8)
	AND (u.password_changed_at IS NULL OR t.created_at >= u.password_changed_at)`

// StillValid reports whether p's credential still holds: the session is
// not logged out or expired, the token not revoked, the user still an
// active member (activeMember: not disabled, not a pending invitation)
// with the role p was given, and the site not disabled. (A connection
// whose member's role changed is thus closed and authenticated again with
// the new role rather than acting with the old one.) Long-lived connections
// (WebSocket subscriptions) check it periodically, which also keeps a
// session with an open dashboard from going idle.
func (s *Store) StillValid(ctx context.Context, p *Principal) (bool, error) {
	var ok []bool
	err := InSite(WithSite(ctx, p.Site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		ok, err = s.stillValid(ctx, tx, p.Site.ID, []*Principal{p})
		return err
	})
	if err != nil {
		return false, fmt.Errorf("checking credential: %w", err)
	}
	return ok[0], nil
}

// stillValidSQL is StillValid's rule for the principals given as arrays
// ($1 credential ids, $2 how each signed in, $3 users, $4 roles) of site
// $6, $5 the sessions' idle lifetime in seconds: per principal, in order,
// whether it still holds and whether its session's last use is due to be
// recorded.
var stillValidSQL = `SELECT CASE WHEN x.via = 'session'
		THEN EXISTS (SELECT 1 FROM sessions t JOIN users u ON u.id = t.user_id WHERE t.id = x.cred AND ` + strings.ReplaceAll(sessionValid, "$2", "$5") + `)
		ELSE EXISTS (SELECT 1 FROM api_tokens t WHERE t.id = x.cred AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())) END
	AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = x.uid AND m.role = x.role AND ` + activeMember + `)
	AND EXISTS (SELECT 1 FROM sites WHERE id = $6 AND NOT disabled),
	x.via = 'session' AND EXISTS (SELECT 1 FROM sessions t WHERE t.id = x.cred AND (` + useStale("session") + `))
	FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[]) WITH ORDINALITY AS x(cred, via, uid, role, i) ORDER BY x.i`

// stillValid is StillValid for principals ps of site in tx, in one
// statement however many they are (the live hub re-reads a whole site's
// subscribers at once: CurrentDomainsAll). A session checked is kept from
// going idle, as a request would.
func (s *Store) stillValid(ctx context.Context, tx pgx.Tx, site uuid.UUID, ps []*Principal) ([]bool, error) {
	creds, users := make([]uuid.UUID, len(ps)), make([]uuid.UUID, len(ps))
	vias, roles := make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		if p.Site.ID != site {
			return nil, fmt.Errorf("checking credentials: %s's principal is of another site", p.User.Email)
		}
		creds[i], users[i], vias[i], roles[i] = p.CredID, p.User.ID, p.Via, string(p.Role)
	}
	rows, err := tx.Query(ctx, stillValidSQL, creds, vias, users, roles, s.limits.SessionIdle.Seconds(), site)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ok := make([]bool, 0, len(ps))
	var touch []uuid.UUID // sessions only: their stale test is false for tokens
	for rows.Next() {
		var valid, touchIt bool
		if err := rows.Scan(&valid, &touchIt); err != nil {
			return nil, err
		}
		if valid && touchIt {
			touch = append(touch, ps[len(ok)].CredID)
		}
		ok = append(ok, valid)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ok) != len(ps) {
		return nil, fmt.Errorf("checked %d credentials, want %d", len(ok), len(ps))
	}
	if len(touch) > 0 {
		if err := recordUse(ctx, tx, "session", touch...); err != nil {
			return nil, err
		}
	}
	return ok, nil
}

// SessionTTL is how long a browser session lasts at most by default
// (Limits.SessionMax).
const SessionTTL = 14 * 24 * time.Hour

// DefaultSessionIdle is how long an unused browser session lasts by
// default (Limits.SessionIdle).
const DefaultSessionIdle = 12 * time.Hour

// Login checks email and password for a site and opens a session. Failed
// attempts are throttled per account (site and email, trimmed and
// case-folded) and per client address (WithClientAddr); an attempt is
// counted before its password is checked, so concurrent attempts cannot
// overrun the budget. Password checks wait for the store's PasswordGate.
func (s *Store) Login(ctx context.Context, siteName, email, password string) (string, *Principal, error) {
	siteName = strings.ToLower(strings.TrimSpace(siteName))
	email = strings.ToLower(strings.TrimSpace(email))
	budgets := []Budget{{Key: accountKey(siteName, email), Max: s.limits.LoginFailures}}
	if addr := ClientAddrFrom(ctx); addr != "" {
		budgets = append(budgets, Budget{Key: "address:" + addr, Max: s.limits.AddressFailures})
	}
	attempt, spent, err := s.limiter.Begin(ctx, budgets...)
	if err != nil {
		return "", nil, err
	}
	if spent != nil {
		if strings.HasPrefix(spent.Key, "address:") {
			return "", nil, errs.E(errs.Forbidden, "too many failed sign-in attempts from your address (%d a minute at most); wait a minute and try again", spent.Max)
		}
		return "", nil, errs.E(errs.Forbidden, "too many failed sign-in attempts for this account (%d a minute at most); wait a minute and try again", spent.Max)
	}
	plain, p, err := s.login(ctx, siteName, email, password)
	var need *SecondFactorNeeded
	switch {
	case errors.As(err, &need):
		attempt.Succeed(ctx)
		s.auditSignIn(ctx, p.Site.ID, email, &p.User.ID, "ok", "password accepted; waiting for the second factor")
		return "", p, err
	case err == nil:
		attempt.Succeed(ctx)
		s.auditSignIn(ctx, p.Site.ID, email, &p.User.ID, "ok", "")
		return plain, p, nil
	case errs.Is(err, errs.Unauthenticated):
		if site, serr := s.SiteByName(ctx, siteName); serr == nil {
			s.auditSignIn(ctx, site.ID, email, nil, "failed", "wrong email or password, or the member is disabled")
		}
		return "", nil, errs.E(errs.Unauthenticated, "wrong site, email or password")
	default:
		attempt.Cancel(ctx) // busy or broken: the password was not checked
		return "", nil, err
	}
}

// login checks the password (through the gate) and opens a session.
func (s *Store) login(ctx context.Context, siteName, email, password string) (string, *Principal, error) {
	unknown := func() (string, *Principal, error) {
		err := s.gate.Do(ctx, func() error {
			VerifyPassword(dummyHash, password) // same cost as a real attempt
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		return "", nil, errs.E(errs.Unauthenticated, "no such user")
	}
	site, err := s.SiteByName(ctx, siteName)
	if err != nil || site.Disabled {
		return unknown()
	}
	p := &Principal{Site: site, Via: "session"}
	var hash string
	err = InSite(WithSite(ctx, site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT u.id, u.email, u.display_name, u.created_at, u.password_hash, m.role, u.must_change_password
			FROM users u JOIN memberships m ON m.user_id = u.id WHERE lower(u.email) = $1 AND `+activeMember, email).
			Scan(&p.User.ID, &p.User.Email, &p.User.DisplayName, &p.User.CreatedAt, &hash, &p.Role, &p.MustChangePassword)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return unknown()
	}
	if err != nil {
		return "", nil, fmt.Errorf("signing in: %w", err)
	}
	var ok bool
	if err := s.gate.Do(ctx, func() error { ok = VerifyPassword(hash, password); return nil }); err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, errs.E(errs.Unauthenticated, "bad password")
	}
	need, err := s.secondFactorChallenge(ctx, p)
	if err != nil {
		return "", nil, err
	}
	if need != nil {
		return "", p, need
	}
	plain, err := s.openSessionFor(WithSite(ctx, site.ID), p, uuid.Nil)
	if err != nil {
		return "", nil, err
	}
	return plain, p, nil
}

// openSessionFor opens a browser session for p (setting p.CredID) and, when
// challenge is set, ends the sign-in challenge it completes.
func (s *Store) openSessionFor(ctx context.Context, p *Principal, challenge uuid.UUID) (string, error) {
	plain, h, err := newSecret(sessionPrefix, p.Site.ID)
	if err != nil {
		return "", err
	}
	p.CredID = uuid.New()
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if challenge != uuid.Nil {
			tag, err := tx.Exec(ctx, `DELETE FROM second_factor_challenges WHERE id = $1`, challenge)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 { // a concurrent second step won
				return errs.E(errs.Unauthenticated, "this sign-in was already completed or ended; sign in again")
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, site_id, user_id, token_hash, expires_at, address, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			p.CredID, p.Site.ID, p.User.ID, h, time.Now().Add(s.limits.SessionMax), ClientAddrFrom(ctx), UserAgentFrom(ctx))
		return err
	})
	if err != nil {
		if errs.Is(err, errs.Unauthenticated) {
			return "", err
		}
		return "", fmt.Errorf("signing in: %w", err)
	}
	return plain, nil
}

// Logout ends the session or revokes nothing for tokens.
func (s *Store) Logout(ctx context.Context, p *Principal) error {
	if p.Via != "session" {
		return nil
	}
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, p.CredID)
		return err
	})
}

var dummyHash, _ = HashPassword("not-a-real-password-0")

// SessionValid reports whether the session secret still signs anyone in
// (server.CSRF uses it to tell a stale cookie from a session).
func (s *Store) SessionValid(ctx context.Context, secret string) bool {
	p, err := s.Authenticate(ctx, secret)
	return err == nil && p.Via == "session"
}
