package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// This file is the one token mechanism behind every emailed link (issue 19,
// item 5): an invitation, a sign-up's email verification and a password
// reset are each a row of user_links holding the SHA-256 of a random token,
// its purpose, an expiry and when it was used. A link works once, for its
// purpose only, until it expires; nobody but the person who reads the mail
// ever sets the password of the account it names.

// LinkPurpose is what a link is for.
type LinkPurpose string

// The purposes of links.
const (
	// LinkInvite accepts an invitation to a site.
	LinkInvite LinkPurpose = "invite"
	// LinkVerify confirms a sign-up's email address and opens its site.
	LinkVerify LinkPurpose = "verify"
	// LinkReset sets a new password.
	LinkReset LinkPurpose = "reset"
)

// How long each kind of link works.
const (
	InviteTTL = 7 * 24 * time.Hour
	VerifyTTL = 24 * time.Hour
	ResetTTL  = time.Hour
)

// linkPrefix starts every link token (so a leaked one is recognisable).
const linkPrefix = "bgl_"

// Link is one emailed link, handed to a LinkSender.
type Link struct {
	Purpose LinkPurpose
	// To is the address the link is mailed to (the account's email).
	To string
	// Site is the name of the site an invitation or sign-up is for.
	Site string
	// Role is the invited role (invitations).
	Role Role
	// Token is the secret; the stored row holds only its hash.
	Token   string
	Expires time.Time
}

// Path is where the dashboard handles the link, with its token.
func (l Link) Path() string {
	page := map[LinkPurpose]string{LinkInvite: "accept-invite", LinkVerify: "verify", LinkReset: "reset-password"}[l.Purpose]
	return "/#/" + page + "?token=" + l.Token
}

// Message is the subject and plain-text body of the email carrying l, with
// the link under baseURL (e.g. https://bergamot.example.com).
func (l Link) Message(baseURL string) (subject, body string) {
	url := strings.TrimRight(baseURL, "/") + l.Path()
	until := l.Expires.UTC().Format("2006-01-02 15:04 MST")
	switch l.Purpose {
	case LinkInvite:
		return fmt.Sprintf("You are invited to the Bergamot site %s", l.Site),
			fmt.Sprintf("You have been invited to the Bergamot site %q as %s.\n\nOpen this link to accept; if you have no Bergamot account yet you choose your password there, otherwise you confirm with the password you already have:\n\n%s\n\nThe link works once, until %s. If you did not expect this invitation, ignore this message.\n", l.Site, l.Role, url, until)
	case LinkVerify:
		return fmt.Sprintf("Confirm your Bergamot site %s", l.Site),
			fmt.Sprintf("Someone (we hope you) created the Bergamot site %q with this address.\n\nOpen this link and enter the password chosen at sign-up (or, if you already had a Bergamot account, that account's password) to confirm your address and open the site:\n\n%s\n\nThe link works once, until %s. If this was not you, ignore this message: the site stays closed and is removed.\n", l.Site, url, until)
	default:
		return "Reset your Bergamot password",
			fmt.Sprintf("A new password was requested for the Bergamot account of this address.\n\nOpen this link to choose a new password:\n\n%s\n\nThe link works once, until %s. If you did not ask for this, ignore this message: your password stays as it is.\n", url, until)
	}
}

// LinkSender delivers links (by email in production).
type LinkSender interface {
	SendLink(ctx context.Context, l Link) error
}

// LogLinks is the LinkSender of an installation without mail settings: it
// writes each link to the server's log, for the operator to pass on.
type LogLinks struct {
	Logger  *slog.Logger
	BaseURL string
}

// SendLink logs l.
func (g LogLinks) SendLink(ctx context.Context, l Link) error {
	g.Logger.WarnContext(ctx, "no mail settings (BERGAMOT_SMTP_HOST): pass this link on to its owner yourself",
		slog.String("purpose", string(l.Purpose)), slog.String("to", l.To), slog.String("site", l.Site),
		slog.String("link", strings.TrimRight(g.BaseURL, "/")+l.Path()))
	return nil
}

// SetLinkSender makes the Store deliver links through ls. With a sender,
// sign-ups through the API wait for their emailed link and invitations are
// accepted by link; without one, InviteByLink is refused.
func (s *Store) SetLinkSender(ls LinkSender) { s.links = ls }

func newLinkToken() (plain string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generating link: %w", err)
	}
	plain = linkPrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(plain))
	return plain, h[:], nil
}

func linkHash(token string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return h[:]
}

// issueLink stores a new link and returns it (without To/Site filled in).
func issueLink(ctx context.Context, tx pgx.Tx, purpose LinkPurpose, user uuid.UUID, site *uuid.UUID, ttl time.Duration, passwordHash string) (Link, error) {
	plain, hash, err := newLinkToken()
	if err != nil {
		return Link{}, err
	}
	l := Link{Purpose: purpose, Token: plain, Expires: time.Now().Add(ttl)}
	if _, err := tx.Exec(ctx, `INSERT INTO user_links (token_hash, purpose, user_id, site_id, expires_at, password_hash) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, string(purpose), user, site, l.Expires, passwordHash); err != nil {
		return Link{}, fmt.Errorf("creating %s link: %w", purpose, err)
	}
	return l, nil
}

// openLink is a stored link being used.
type openLink struct {
	hash         []byte
	user         uuid.UUID
	site         *uuid.UUID
	passwordHash string // the sign-up's chosen password
	account      string // the account's own password hash ("" if none)
	verified     bool   // the account's email is verified
	email        string
}

// findLink locks the link for purpose named by token, or explains why it
// cannot be used: unknown, used, or expired (each a clear error).
func findLink(ctx context.Context, tx pgx.Tx, purpose LinkPurpose, token string) (*openLink, error) {
	what := map[LinkPurpose]string{LinkInvite: "invitation", LinkVerify: "confirmation", LinkReset: "password reset"}[purpose]
	l := &openLink{hash: linkHash(token)}
	var used *time.Time
	var expires time.Time
	err := tx.QueryRow(ctx, `SELECT l.user_id, l.site_id, l.password_hash, l.used_at, l.expires_at, u.password_hash, u.email_verified_at IS NOT NULL, u.email
		FROM user_links l JOIN users u ON u.id = l.user_id WHERE l.token_hash = $1 AND l.purpose = $2 FOR UPDATE OF l`, l.hash, string(purpose)).
		Scan(&l.user, &l.site, &l.passwordHash, &used, &expires, &l.account, &l.verified, &l.email)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errs.E(errs.NotFound, "this %s link is not valid: copy the whole link from the email", what)
	case err != nil:
		return nil, fmt.Errorf("reading %s link: %w", what, err)
	case used != nil:
		return nil, errs.E(errs.Invalid, "this %s link was already used (at %s); each link works once", what, used.UTC().Format(time.RFC3339))
	case time.Now().After(expires):
		return nil, errs.E(errs.Invalid, "this %s link expired at %s; ask for a new one", what, expires.UTC().Format(time.RFC3339))
	}
	return l, nil
}

// use marks the link used and, for a reset, every other reset link of the
// account too.
func (l *openLink) use(ctx context.Context, tx pgx.Tx, purpose LinkPurpose) error {
	if _, err := tx.Exec(ctx, `UPDATE user_links SET used_at = now() WHERE token_hash = $1 OR ($2 AND user_id = $3 AND purpose = 'reset' AND used_at IS NULL)`,
		l.hash, purpose == LinkReset, l.user); err != nil {
		return fmt.Errorf("using link: %w", err)
	}
	return nil
}

// errWrongLinkPassword is what a link opened with the wrong password says.
func errWrongLinkPassword() error {
	return errs.E(errs.Unauthenticated, "that is not the password of this account (or the one chosen at sign-up); the link still works: try again, or reset your password")
}

// proveOrSet checks password against the account (or, for a sign-up of a
// new account, the password chosen then), and returns the hash the account
// must get ("" to keep its own). An account without a password gets this
// one, after CheckPassword.
func (s *Store) proveOrSet(ctx context.Context, l *openLink, password string) (string, error) {
	var newHash string
	err := s.gate.Do(ctx, func() error {
		switch {
		case l.account != "" && l.verified:
			if !VerifyPassword(l.account, password) {
				return errWrongLinkPassword()
			}
		case l.passwordHash != "":
			if !VerifyPassword(l.passwordHash, password) {
				return errWrongLinkPassword()
			}
			newHash = l.passwordHash
		default:
			if err := CheckPassword(password); err != nil {
				return errs.Wrap(errs.Invalid, err, "password refused")
			}
			h, err := HashPassword(password)
			if err != nil {
				return err
			}
			newHash = h
		}
		return nil
	})
	return newHash, err
}

// verifyUser marks the account's email verified and sets hash as its
// password when hash is not empty.
func verifyUser(ctx context.Context, tx pgx.Tx, user uuid.UUID, hash string) error {
	_, err := tx.Exec(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()),
		password_hash = CASE WHEN $2 = '' THEN password_hash ELSE $2 END WHERE id = $1`, user, hash)
	if err != nil {
		return fmt.Errorf("verifying account: %w", err)
	}
	return nil
}

// openSession signs the user in to site after a link was used.
func (s *Store) openSession(ctx context.Context, siteID, user uuid.UUID) (string, *Principal, error) {
	site, err := s.SiteByID(ctx, siteID)
	if err != nil {
		return "", nil, err
	}
	if site.Disabled {
		return "", nil, errs.E(errs.Forbidden, "site %q is disabled", site.Name)
	}
	p := &Principal{Site: site, Via: "session"}
	err = InSite(WithSite(ctx, site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT u.id, u.email, u.display_name, u.created_at, m.role
			FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.id = $1`, user).
			Scan(&p.User.ID, &p.User.Email, &p.User.DisplayName, &p.User.CreatedAt, &p.Role); err != nil {
			return fmt.Errorf("signing in: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("signing in: %w", err)
	}
	// A link proves the mailbox, not the second factor: a member who has
	// one must still give it (*SecondFactorNeeded).
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

// memberOf is the answer about an email that does not depend on whether it
// had an account: its id, the address and a display name made from it.
func memberOf(id uuid.UUID, email string, role Role) *Member {
	return &Member{User: User{ID: id, Email: email, DisplayName: strings.Split(email, "@")[0]}, Role: role}
}

// userForLink finds the account of email, or creates one without a
// password and unverified. It reports whether it created it.
func userForLink(ctx context.Context, tx pgx.Tx, email string) (uuid.UUID, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = $1`, email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		id = uuid.New()
		_, err = tx.Exec(ctx, `INSERT INTO users (id, email, display_name, password_hash) VALUES ($1, $2, $3, '')`,
			id, email, strings.Split(email, "@")[0])
		if err != nil {
			return uuid.Nil, fmt.Errorf("creating user: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("finding user: %w", err)
	}
	return id, nil
}

// signUpPending is SignUp through the API with a LinkSender: the site is
// created closed, its admin is the account of the email (created without a
// password when new), and a verification link carrying the chosen
// password's hash is mailed. The answer and the work are the same whether
// the email already had an account: nothing about that account changes
// until its owner opens the link.
func (s *Store) signUpPending(ctx context.Context, in SignUpInput, init SiteInitializer, email string) (*Site, *Member, error) {
	if err := CheckPassword(in.Password); err != nil {
		return nil, nil, errs.Wrap(errs.Invalid, err, "password refused")
	}
	var hash string
	if err := s.gate.Do(ctx, func() error {
		var err error
		hash, err = HashPassword(in.Password)
		return err
	}); err != nil {
		return nil, nil, err
	}
	var site *Site
	var m *Member
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if site, err = CreateSite(ctx, tx, in.SiteName, in.Summary); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sites SET pending_since = now() WHERE id = $1`, site.ID); err != nil {
			return fmt.Errorf("creating site: %w", err)
		}
		user, err := userForLink(ctx, tx, email)
		if err != nil {
			return err
		}
		if err := SetSite(ctx, tx, site.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO memberships (site_id, user_id, role) VALUES ($1, $2, 'admin')`, site.ID, user); err != nil {
			return fmt.Errorf("adding member: %w", err)
		}
		if err := RecordAuditTx(WithSite(ctx, site.ID), tx, AuditEntry{Actor: email, ActorID: &user, Via: ViaAnonymous, Action: "signUp", Target: site.Name}); err != nil {
			return err
		}
		if init != nil {
			if err := init(ctx, tx, site); err != nil {
				return fmt.Errorf("creating default configuration: %w", err)
			}
		}
		l, err := issueLink(ctx, tx, LinkVerify, user, &site.ID, VerifyTTL, hash)
		if err != nil {
			return err
		}
		l.To, l.Site, l.Role = email, site.Name, RoleAdmin
		m = memberOf(user, email, RoleAdmin)
		return s.send(ctx, l)
	})
	if err != nil {
		return nil, nil, err
	}
	site.Disabled, site.Pending = true, true
	return site, m, nil
}

func (s *Store) send(ctx context.Context, l Link) error {
	if err := s.links.SendLink(ctx, l); err != nil {
		return errs.Wrap(errs.Transient, err, "the email with the link to "+l.To+" could not be sent; nothing was changed, try again later")
	}
	return nil
}

// VerifyEmail opens a sign-up's confirmation link: password must be the one
// chosen at sign-up (or, for an account that existed, its own). It verifies
// the address, opens the site and signs in.
func (s *Store) VerifyEmail(ctx context.Context, token, password string) (string, *Principal, error) {
	var site, user uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := findLink(ctx, tx, LinkVerify, token)
		if err != nil {
			return err
		}
		hash, err := s.proveOrSet(ctx, l, password)
		if err != nil {
			return err
		}
		if err := verifyUser(ctx, tx, l.user, hash); err != nil {
			return err
		}
		if l.site == nil {
			return errs.E(errs.NotFound, "the site of this link no longer exists")
		}
		if _, err := tx.Exec(ctx, `UPDATE sites SET pending_since = NULL WHERE id = $1`, *l.site); err != nil {
			return fmt.Errorf("opening site: %w", err)
		}
		site, user = *l.site, l.user
		return l.use(ctx, tx, LinkVerify)
	})
	if err != nil {
		return "", nil, err
	}
	return s.openSession(ctx, site, user)
}

// InviteByLink invites email to the site in ctx with role: the membership
// waits (pending) until the invitee opens the emailed link, sets their
// password if they had none, or proves the one they have. Nobody else
// chooses it. The answer is the same whether the email had an account.
func (s *Store) InviteByLink(ctx context.Context, email string, role Role) (*Member, error) {
	site, err := SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	if s.links == nil {
		return nil, errs.E(errs.Internal, "invitations are sent by email and this server has no way to send them (operator: set BERGAMOT_SMTP_HOST)")
	}
	email, err = NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	s2, err := s.SiteByID(ctx, site)
	if err != nil {
		return nil, err
	}
	var m *Member
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		user, err := userForLink(ctx, tx, email)
		if err != nil {
			return err
		}
		if err := SetSite(ctx, tx, site); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO memberships (site_id, user_id, role, pending) VALUES ($1, $2, $3, true)`, site, user, string(role))
		if isUniqueViolation(err) {
			return errs.E(errs.Conflict, "%s is already a member of this site (or invited)", email)
		}
		if err != nil {
			return fmt.Errorf("inviting member: %w", err)
		}
		l, err := issueLink(ctx, tx, LinkInvite, user, &site, InviteTTL, "")
		if err != nil {
			return err
		}
		l.To, l.Site, l.Role = email, s2.Name, role
		m = memberOf(user, email, role)
		return s.send(ctx, l)
	})
	return m, err
}

// AcceptInvitation opens an invitation link: an account without a password
// gets password (it must pass CheckPassword), an account with one must give
// it. The membership becomes active and the invitee is signed in.
func (s *Store) AcceptInvitation(ctx context.Context, token, password string) (string, *Principal, error) {
	var site, user uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := findLink(ctx, tx, LinkInvite, token)
		if err != nil {
			return err
		}
		if l.site == nil {
			return errs.E(errs.NotFound, "the site of this invitation no longer exists")
		}
		hash, err := s.proveOrSet(ctx, l, password)
		if err != nil {
			return err
		}
		if err := verifyUser(ctx, tx, l.user, hash); err != nil {
			return err
		}
		if err := SetSite(ctx, tx, *l.site); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE memberships SET pending = false WHERE user_id = $1`, l.user)
		if err != nil {
			return fmt.Errorf("accepting invitation: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "this invitation was withdrawn")
		}
		site, user = *l.site, l.user
		return l.use(ctx, tx, LinkInvite)
	})
	if err != nil {
		return "", nil, err
	}
	return s.openSession(ctx, site, user)
}

// RequestPasswordReset mails a reset link to email when it has an account.
// The answer is the same either way, and the mail goes out after the
// answer, so neither it nor its timing tells whether the account exists.
// Requests are throttled per email and per client address like sign-ups.
func (s *Store) RequestPasswordReset(ctx context.Context, email string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if s.links == nil {
		return errs.E(errs.Internal, "password reset links are sent by email and this server has no way to send them (operator: set BERGAMOT_SMTP_HOST)")
	}
	budgets := []Budget{{Key: "reset-email:" + email, Max: s.limits.SignupsPerEmail}}
	if addr := ClientAddrFrom(ctx); addr != "" {
		budgets = append(budgets, Budget{Key: "reset-address:" + addr, Max: s.limits.SignupsPerAddress})
	}
	_, spent, err := s.signups.Begin(ctx, budgets...)
	if err != nil {
		return err
	}
	if spent != nil {
		what := "for this email"
		if strings.HasPrefix(spent.Key, "reset-address:") {
			what = "from your address"
		}
		return errs.E(errs.Forbidden, "too many password reset requests %s (%d an hour at most, limit reset-requests); try again later", what, spent.Max)
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		ctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		if err := s.sendReset(ctx, email); err != nil {
			slog.Default().WarnContext(ctx, "password reset link not sent", slog.String("to", email), slog.Any("error", err))
		}
	}()
	return nil
}

func (s *Store) sendReset(ctx context.Context, email string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var user uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(email) = $1`, email).Scan(&user)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finding user: %w", err)
		}
		l, err := issueLink(ctx, tx, LinkReset, user, nil, ResetTTL, "")
		if err != nil {
			return err
		}
		l.To = email
		return s.links.SendLink(ctx, l)
	})
}

// ResetPassword opens a reset link and sets password (after CheckPassword)
// as the account's password; the address counts as verified. Every other
// reset link of the account stops working, and every session the account
// had, in every site, ends (a reset is what someone does after losing a
// laptop or a password). API tokens are left alone: they are revoked one by
// one, as the dashboard's token list does.
func (s *Store) ResetPassword(ctx context.Context, token, password string) error {
	if err := CheckPassword(password); err != nil {
		return errs.Wrap(errs.Invalid, err, "password refused")
	}
	var hash string
	if err := s.gate.Do(ctx, func() error {
		var err error
		hash, err = HashPassword(password)
		return err
	}); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := findLink(ctx, tx, LinkReset, token)
		if err != nil {
			return err
		}
		if err := verifyUser(ctx, tx, l.user, hash); err != nil {
			return err
		}
		// Sessions older than the password stop being valid (sessionValid).
		if _, err := tx.Exec(ctx, `UPDATE users SET password_changed_at = now(), must_change_password = false WHERE id = $1`, l.user); err != nil {
			return fmt.Errorf("resetting password: %w", err)
		}
		return l.use(ctx, tx, LinkReset)
	})
}

// TextMailer sends one plain-text email (notifiers/email.Notifier does).
type TextMailer interface {
	SendText(ctx context.Context, to, subject, text string) error
}

// EmailLinks is the LinkSender that mails each link through the operator's
// mail relay, pointing at BaseURL (the dashboard's public address).
type EmailLinks struct {
	Mailer  TextMailer
	BaseURL string
}

// SendLink mails l to its owner.
func (e EmailLinks) SendLink(ctx context.Context, l Link) error {
	subject, body := l.Message(e.BaseURL)
	return e.Mailer.SendText(ctx, l.To, subject, body)
}

// ReleaseUnconfirmedSignups deletes, with all their rows, the sites whose
// sign-up was not confirmed within VerifyTTL, so that a name someone typed
// and never confirmed (or typed to squat it) is free again. name limits it
// to the site of that name or alias ("" for every such site). It returns
// the names released. The accounts created for those sign-ups stay: they
// have no password and no site, and a later sign-up with the same address
// takes them over through its own link.
func (s *Store) ReleaseUnconfirmedSignups(ctx context.Context, name string) ([]string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	rows, err := s.pool.Query(ctx, `SELECT name FROM sites
		WHERE pending_since < now() - make_interval(secs => $1::float8) AND ($2 = '' OR name = $2 OR $2 = ANY (aliases))`,
		VerifyTTL.Seconds(), name)
	if err != nil {
		return nil, fmt.Errorf("finding unconfirmed sign-ups: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("finding unconfirmed sign-ups: %w", err)
	}
	var released []string
	for _, n := range names {
		if err := s.DeleteSite(ctx, n, n); err != nil && !errs.Is(err, errs.NotFound) {
			return released, fmt.Errorf("releasing unconfirmed site %q: %w", n, err)
		}
		released = append(released, n)
	}
	return released, nil
}
