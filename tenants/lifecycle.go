package tenants

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// The user lifecycle inside one site (the emailed links, invitation
// acceptance and password reset, live elsewhere): changing one's password,
// an administrator removing or disabling a member or asking them to change
// their password. Each takes effect at once: a removed or disabled
// member's sessions and tokens are refused from the next request on, and
// their WebSockets close at the next credential check.

// ChangePassword replaces p's password after checking the current one.
// Every session the user has, in every site, ends, except the one making
// the change (when it is a session); a pending forced change is done.
// Wrong current passwords count against the account's sign-in budget.
func (s *Store) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	if err := CheckPassword(next); err != nil {
		return errs.Wrap(errs.Invalid, err, "new password refused")
	}
	if current == next {
		return errs.E(errs.Invalid, "the new password is the same as the current one")
	}
	attempt, spent, err := s.limiter.Begin(ctx, Budget{Key: accountKey(p.Site.Name, p.User.Email), Max: s.limits.LoginFailures})
	if err != nil {
		return err
	}
	if spent != nil {
		return errs.E(errs.Forbidden, "too many wrong passwords for this account (%d a minute at most); wait a minute and try again", spent.Max)
	}
	var hash string
	if err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, p.User.ID).Scan(&hash); err != nil {
		attempt.Cancel(ctx)
		return fmt.Errorf("changing password: %w", err)
	}
	var ok bool
	var newHash string
	err = s.gate.Do(ctx, func() error {
		if ok = VerifyPassword(hash, current); !ok {
			return nil
		}
		var err error
		newHash, err = HashPassword(next)
		return err
	})
	if err != nil {
		attempt.Cancel(ctx)
		return err
	}
	if !ok {
		return errs.E(errs.Forbidden, "the current password is wrong")
	}
	attempt.Succeed(ctx)
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now(), must_change_password = false WHERE id = $1`,
			p.User.ID, newHash); err != nil {
			return fmt.Errorf("changing password: %w", err)
		}
		if p.Via == "session" {
			// The session making the change stays signed in: it is as new as the password.
			if _, err := tx.Exec(ctx, `UPDATE sessions SET created_at = now() WHERE id = $1`, p.CredID); err != nil {
				return fmt.Errorf("changing password: %w", err)
			}
		}
		return nil
	})
}

// memberEmail returns the email of a member of the transaction's site.
func memberEmail(ctx context.Context, tx pgx.Tx, userID uuid.UUID) (string, Role, error) {
	var email string
	var role Role
	err := tx.QueryRow(ctx, `SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.user_id = $1`, userID).Scan(&email, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", errs.E(errs.NotFound, "no such member in this site")
	}
	if err != nil {
		return "", "", fmt.Errorf("finding member: %w", err)
	}
	return email, role, nil
}

// keepAnAdmin refuses a change that would leave the site without an
// enabled administrator.
func keepAnAdmin(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	var others int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM memberships WHERE role = 'admin' AND disabled_at IS NULL AND user_id <> $1`, userID).Scan(&others); err != nil {
		return fmt.Errorf("counting administrators: %w", err)
	}
	if others == 0 {
		return errs.E(errs.Conflict, "this is the site's last administrator; make someone else an administrator first")
	}
	return nil
}

// endCredentials ends userID's sessions in the transaction's site and
// revokes their tokens.
func endCredentials(ctx context.Context, tx pgx.Tx, userID uuid.UUID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
		return fmt.Errorf("revoking tokens: %w", err)
	}
	return nil
}

// RemoveMember takes userID out of the site in ctx: their membership goes,
// their sessions end and their tokens are revoked, in one transaction. The
// account itself stays (it may belong to other sites). actor may not
// remove themselves, nor the last administrator. It returns the removed
// member's email.
func (s *Store) RemoveMember(ctx context.Context, actor *Principal, userID uuid.UUID) (string, error) {
	if userID == actor.User.ID {
		return "", errs.E(errs.Invalid, "you cannot remove yourself; ask another administrator")
	}
	var email string
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var role Role
		var err error
		if email, role, err = memberEmail(ctx, tx, userID); err != nil {
			return err
		}
		if role == RoleAdmin {
			if err := keepAnAdmin(ctx, tx, userID); err != nil {
				return err
			}
		}
		if err := endCredentials(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("removing member: %w", err)
		}
		return notifyMembers(ctx, tx)
	})
	return email, err
}

// SetMemberDisabled disables (or enables again) userID in the site in ctx.
// Disabling ends their sessions at once; their tokens are refused while
// they are disabled and work again if they are enabled. It returns the
// member's email.
func (s *Store) SetMemberDisabled(ctx context.Context, actor *Principal, userID uuid.UUID, disabled bool) (string, error) {
	if userID == actor.User.ID {
		return "", errs.E(errs.Invalid, "you cannot disable yourself; ask another administrator")
	}
	var email string
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var role Role
		var err error
		if email, role, err = memberEmail(ctx, tx, userID); err != nil {
			return err
		}
		if !disabled {
			_, err := tx.Exec(ctx, `UPDATE memberships SET disabled_at = NULL WHERE user_id = $1`, userID)
			return err
		}
		if role == RoleAdmin {
			if err := keepAnAdmin(ctx, tx, userID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE memberships SET disabled_at = now() WHERE user_id = $1 AND disabled_at IS NULL`, userID); err != nil {
			return fmt.Errorf("disabling member: %w", err)
		}
		if _, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		return notifyMembers(ctx, tx)
	})
	return email, err
}

// RequirePasswordChange makes userID, a member of the site in ctx, change
// their password before doing anything else the next time they use the
// API. It returns the member's email.
func (s *Store) RequirePasswordChange(ctx context.Context, userID uuid.UUID) (string, error) {
	var email string
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if email, _, err = memberEmail(ctx, tx, userID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET must_change_password = true WHERE id = $1`, userID)
		return err
	})
	return email, err
}
