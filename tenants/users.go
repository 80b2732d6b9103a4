package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// User is a person who can sign in. A user may be a member of several sites.
type User struct {
	ID          uuid.UUID
	Email       string
	DisplayName string
	CreatedAt   time.Time
}

// Member is a user with their role in one site.
type Member struct {
	User
	Role Role
	// Disabled: the member cannot sign in to the site (SetMemberDisabled).
	Disabled bool
	// MustChangePassword: they must change their password at next use.
	MustChangePassword bool
}

// NormalizeEmail validates an email address and returns its canonical form.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email, "@") {
		return "", errs.E(errs.Invalid, "%q is not a valid email address", email)
	}
	return strings.ToLower(email), nil
}

// AddMember makes the user with email a member of the transaction's site
// with role, creating the user with password when they do not exist yet. An
// existing user keeps their own password: at signup (verify set) the given
// password must be theirs; an administrator's invitation (verify unset)
// never learns whether the person already had an account elsewhere.
func AddMember(ctx context.Context, tx pgx.Tx, site uuid.UUID, email, password string, role Role, verify ...bool) (*Member, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	// The password is checked whether or not the account exists, so the
	// answer does not tell an inviter which emails have accounts.
	if err := CheckPassword(password); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "password refused")
	}
	var u User
	var hash string
	err = tx.QueryRow(ctx, `SELECT id, email, display_name, password_hash, created_at FROM users WHERE lower(email) = $1`, email).
		Scan(&u.ID, &u.Email, &u.DisplayName, &hash, &u.CreatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		h, err := HashPassword(password)
		if err != nil {
			return nil, err
		}
		u = User{ID: uuid.New(), Email: email, DisplayName: strings.Split(email, "@")[0]}
		if err := tx.QueryRow(ctx, `INSERT INTO users (id, email, display_name, password_hash, email_verified_at) VALUES ($1, $2, $3, $4, now()) RETURNING created_at`,
			u.ID, u.Email, u.DisplayName, h).Scan(&u.CreatedAt); err != nil {
			return nil, fmt.Errorf("creating user: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("finding user: %w", err)
	case len(verify) > 0 && verify[0] && !VerifyPassword(hash, password):
		return nil, errs.E(errs.Conflict, "%s already has a Bergamot account: sign up with that account's password", email)
	}
	if err := SetSite(ctx, tx, site); err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO memberships (site_id, user_id, role) VALUES ($1, $2, $3)`, site, u.ID, string(role))
	if isUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "%s is already a member of this site", email)
	}
	if err != nil {
		return nil, fmt.Errorf("adding member: %w", err)
	}
	return &Member{User: u, Role: role}, nil
}

// Members lists the users of the site in ctx.
func (s *Store) Members(ctx context.Context) ([]*Member, error) {
	var out []*Member
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.id, u.email, u.display_name, u.created_at, m.role, m.disabled_at IS NOT NULL, u.must_change_password
			FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.email`)
		if err != nil {
			return fmt.Errorf("listing members: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var m Member
			if err := rows.Scan(&m.ID, &m.Email, &m.DisplayName, &m.CreatedAt, &m.Role, &m.Disabled, &m.MustChangePassword); err != nil {
				return fmt.Errorf("listing members: %w", err)
			}
			out = append(out, &m)
		}
		return rows.Err()
	})
	return out, err
}

// SetRole changes a member's role in the site in ctx (announced on
// MembersChannel, so open subscriptions follow it at once).
func (s *Store) SetRole(ctx context.Context, userID uuid.UUID, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE memberships SET role = $2 WHERE user_id = $1`, userID, string(role))
		if err != nil {
			return fmt.Errorf("setting role: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such user in this site")
		}
		return notifyMembers(ctx, tx)
	})
}

// Invite adds a user to the site in ctx (creating them with password if new).
func (s *Store) Invite(ctx context.Context, email, password string, role Role) (*Member, error) {
	site, err := SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	var m *Member
	// Hashing the new user's password waits for a turn at the gate.
	err = s.gate.Do(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			m, err = AddMember(ctx, tx, site, email, password, role)
			return err
		})
	})
	return m, err
}
