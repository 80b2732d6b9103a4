package tenants

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

type userAgentKey struct{}

// WithUserAgent records the browser or program a request came from; a
// session opened by the request keeps it for the session list.
func WithUserAgent(ctx context.Context, ua string) context.Context {
	if len(ua) > 300 {
		ua = ua[:300]
	}
	return context.WithValue(ctx, userAgentKey{}, ua)
}

// UserAgentFrom returns what WithUserAgent recorded, or "".
func UserAgentFrom(ctx context.Context) string {
	s, _ := ctx.Value(userAgentKey{}).(string)
	return s
}

// CSRFToken is the anti-forgery token that goes with a session secret: a
// request authenticated by the session cookie must also send it (header
// X-CSRF-Token). It is derived from the secret, so it needs no storage,
// and a page of another origin cannot compute it (the cookie is HttpOnly)
// nor read it (the API answers no cross-origin reads).
func CSRFToken(sessionSecret string) string {
	h := sha256.Sum256([]byte("bergamot-csrf\x00" + sessionSecret))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}

// Session is one signed-in browser (or program using the session secret).
type Session struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Email     string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	// IdleUntil is when the session ends if it stays unused.
	IdleUntil time.Time
	Address   string
	UserAgent string
}

// Sessions lists the live sessions of the site in ctx: userID's, or every
// member's when userID is Nil. Ended ones (expired, idle, older than a
// password change) are not listed.
func (s *Store) Sessions(ctx context.Context, userID uuid.UUID) ([]*Session, error) {
	var out []*Session
	idle := s.limits.SessionIdle
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, t.user_id, u.email, t.created_at, t.last_seen, t.expires_at, t.address, t.user_agent
			FROM sessions t JOIN users u ON u.id = t.user_id
			WHERE ($1::uuid IS NULL OR t.user_id = $1) AND `+sessionValid+` ORDER BY t.last_seen DESC`, nilIfZero(userID), idle.Seconds())
		if err != nil {
			return fmt.Errorf("listing sessions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var x Session
			if err := rows.Scan(&x.ID, &x.UserID, &x.Email, &x.CreatedAt, &x.LastSeen, &x.ExpiresAt, &x.Address, &x.UserAgent); err != nil {
				return fmt.Errorf("listing sessions: %w", err)
			}
			x.IdleUntil = x.LastSeen.Add(idle)
			if x.IdleUntil.After(x.ExpiresAt) {
				x.IdleUntil = x.ExpiresAt
			}
			out = append(out, &x)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeSession ends one session of the site in ctx; with userID set, only
// if it is that user's (a member ending their own). It ends at once: the
// next request with it is refused, and a WebSocket using it closes at its
// next credential check.
func (s *Store) RevokeSession(ctx context.Context, id, userID uuid.UUID) error {
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)`, id, nilIfZero(userID))
		if err != nil {
			return fmt.Errorf("ending session: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such session")
		}
		return nil
	})
}

// SignOutEverywhere ends every session userID has in the site in ctx and
// returns how many there were.
func (s *Store) SignOutEverywhere(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		n = int(tag.RowsAffected())
		return nil
	})
	return n, err
}

// SessionLifetimes returns the idle and absolute session lifetimes.
func (s *Store) SessionLifetimes() (idle, maxAge time.Duration) {
	return s.limits.SessionIdle, s.limits.SessionMax
}
