package tenants

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Second factors (issue 22 item 4; docs/second-factors.md): TOTP
// authenticators, WebAuthn security keys and passkeys, and recovery codes.
// They belong to a membership (site and user), are kept under row-level
// security in second_factors, recovery_codes and second_factor_challenges
// (migration 000040), and this file is the only one that reads or writes
// them.

// Sealer seals and opens secrets bound to a context (store.Sealer, the
// node's secret.key).
type Sealer interface {
	Seal(plain, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// SetSealer gives the store the node's sealer, which TOTP secrets need.
func (s *Store) SetSealer(sealer Sealer) { s.sealer = sealer }

// Factor kinds.
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
	// FactorRecovery names a recovery code as a sign-in method.
	FactorRecovery = "recovery"
)

const (
	challengePrefix = "bgc_"
	// SecondFactorTTL is how long a sign-in waits for its second factor
	// (and a passkey registration for the browser).
	SecondFactorTTL = 5 * time.Minute
	// challengeFailures is how many wrong second factors one sign-in
	// takes before it must start again from the password.
	challengeFailures = 5
	// RecoveryCodeCount is how many recovery codes a member gets.
	RecoveryCodeCount = 10
	totpPeriod        = 30
	totpIssuer        = "Bergamot"
)

// SecondFactor is one enrolled factor, without its secret.
type SecondFactor struct {
	ID        uuid.UUID
	Kind      string
	Name      string
	Confirmed bool
	CreatedAt time.Time
	LastUsed  *time.Time
}

// SecondFactorStatus is what a member's account security page shows.
type SecondFactorStatus struct {
	Factors []*SecondFactor
	// RecoveryCodesLeft counts unused recovery codes.
	RecoveryCodesLeft int
	// SiteRequires: the site requires a second factor of every member.
	SiteRequires bool
}

// SecondFactorNeeded is Login's answer when the password was right and the
// member has a second factor: no session is opened; the sign-in goes on
// with Challenge (a token that authenticates nothing) and one of Methods.
type SecondFactorNeeded struct {
	Challenge string
	Methods   []string
	ExpiresAt time.Time
	User      User
	Site      *Site
}

func (e *SecondFactorNeeded) Error() string {
	return "a second factor is needed to finish signing in (" + strings.Join(e.Methods, ", ") + ")"
}

// RelyingParty is who WebAuthn credentials are bound to: ID is the host
// name (BERGAMOT_PUBLIC_URL's, or the one the browser used), Origins the
// exact origins the browser may call from.
type RelyingParty struct {
	ID      string
	Origins []string
}

// RelyingPartyFor derives the relying party from a base URL such as
// https://bergamot.example.com:8443.
func RelyingPartyFor(base string) (RelyingParty, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return RelyingParty{}, errs.E(errs.Invalid, "WebAuthn needs the dashboard's address as scheme://host[:port], not %q", base)
	}
	return RelyingParty{ID: u.Hostname(), Origins: []string{u.Scheme + "://" + u.Host}}, nil
}

func (rp RelyingParty) webauthn() (*webauthn.WebAuthn, error) {
	if rp.ID == "" || len(rp.Origins) == 0 {
		return nil, errs.E(errs.Invalid, "passkeys need the dashboard's address: set BERGAMOT_PUBLIC_URL")
	}
	w, err := webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: totpIssuer, RPOrigins: rp.Origins,
		Timeouts: webauthn.TimeoutsConfig{Login: webauthn.TimeoutConfig{Enforce: true, Timeout: SecondFactorTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: SecondFactorTTL}}})
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, fmt.Sprintf("WebAuthn relying party %q", rp.ID))
	}
	return w, nil
}

// waUser is a member as go-webauthn sees them. The user handle is the
// user's id.
type waUser struct {
	id    uuid.UUID
	email string
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id[:] }
func (u *waUser) WebAuthnName() string                       { return u.email }
func (u *waUser) WebAuthnDisplayName() string                { return u.email }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// TOTPCode is the 6-digit RFC 6238 code (HMAC-SHA1, 30-second steps) of
// secret at t; secret is the base32 text an authenticator app is given.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchTOTP returns the time step whose code is code among the steps next
// to now (one step of clock skew either way) and newer than last, or 0.
func matchTOTP(secret, code string, now time.Time, last int64) int64 {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0
	}
	cur := totpStep(now)
	for _, step := range []int64{cur - 1, cur, cur + 1} {
		if step <= last {
			continue // replay: this step (or a later one) was used already
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step
		}
	}
	return 0
}

func totpSealContext(site, user, factor uuid.UUID) []byte {
	return []byte("totp:" + site.String() + ":" + user.String() + ":" + factor.String())
}

// TOTPEnrolment is a TOTP factor waiting for its first code.
type TOTPEnrolment struct {
	ID uuid.UUID
	// Secret is the base32 secret, for typing into an app.
	Secret string
	// URI is the otpauth:// URI the QR code holds.
	URI string
	// QRCode is a PNG of URI.
	QRCode []byte
}

// BeginTOTP starts enrolling a TOTP authenticator for p: the secret is
// sealed and stored unconfirmed (earlier unconfirmed ones are dropped)
// until ConfirmTOTP sees a first code.
func (s *Store) BeginTOTP(ctx context.Context, p *Principal, name string) (*TOTPEnrolment, error) {
	name, err := factorName(name, "Authenticator app")
	if err != nil {
		return nil, err
	}
	if s.sealer == nil {
		return nil, errs.E(errs.Invalid, "this node has no sealing key (secret.key), so it cannot keep TOTP secrets")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: p.User.Email + " (" + p.Site.Name + ")", Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("generating a TOTP secret: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("drawing the TOTP QR code: %w", err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return nil, fmt.Errorf("drawing the TOTP QR code: %w", err)
	}
	id := uuid.New()
	sealed := s.sealer.Seal([]byte(key.Secret()), totpSealContext(p.Site.ID, p.User.ID, id))
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND NOT confirmed`, p.User.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO second_factors (id, site_id, user_id, kind, name, sealed_secret) VALUES ($1, $2, $3, 'totp', $4, $5)`,
			id, p.Site.ID, p.User.ID, name, sealed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("enrolling TOTP: %w", err)
	}
	return &TOTPEnrolment{ID: id, Secret: key.Secret(), URI: key.URL(), QRCode: qr.Bytes()}, nil
}

// ConfirmTOTP confirms p's unconfirmed TOTP factor id with its first code.
// Wrong codes count against the account's sign-in budget. When p had no
// recovery codes, ten are made and returned (shown this once).
func (s *Store) ConfirmTOTP(ctx context.Context, p *Principal, id uuid.UUID, code string) ([]string, error) {
	attempt, err := s.beginFactorAttempt(ctx, p.Site.Name, p.User.Email)
	if err != nil {
		return nil, err
	}
	var codes []string
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var sealed []byte
		err := tx.QueryRow(ctx, `SELECT sealed_secret FROM second_factors WHERE id = $1 AND user_id = $2 AND kind = 'totp' AND NOT confirmed FOR UPDATE`,
			id, p.User.ID).Scan(&sealed)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "no TOTP enrolment %s waiting for its first code (start again with beginTotpEnrolment)", id)
		}
		if err != nil {
			return err
		}
		secret, err := s.openTOTP(p.Site.ID, p.User.ID, id, sealed)
		if err != nil {
			return err
		}
		step := matchTOTP(secret, code, time.Now(), 0)
		if step == 0 {
			return errs.E(errs.Invalid, "the code is wrong: enter the 6 digits the app shows now (check the device's clock)")
		}
		if _, err := tx.Exec(ctx, `UPDATE second_factors SET confirmed = true, last_step = $2, last_used = now() WHERE id = $1`, id, step); err != nil {
			return err
		}
		codes, err = ensureRecoveryCodes(ctx, tx, p.Site.ID, p.User.ID)
		return err
	})
	if errs.Is(err, errs.Invalid) {
		return nil, err // counted
	}
	if err != nil {
		attempt.Cancel(ctx)
		return nil, err
	}
	attempt.Succeed(ctx)
	return codes, nil
}

func (s *Store) openTOTP(site, user, id uuid.UUID, sealed []byte) (string, error) {
	if s.sealer == nil {
		return "", errs.E(errs.Invalid, "this node has no sealing key (secret.key), so it cannot check TOTP codes")
	}
	plain, err := s.sealer.Open(sealed, totpSealContext(site, user, id))
	if err != nil {
		return "", fmt.Errorf("opening TOTP secret %s (was secret.key replaced?): %w", id, err)
	}
	return string(plain), nil
}

// beginFactorAttempt counts a second-factor attempt against the account's
// and the client address's sign-in budgets, like a password.
func (s *Store) beginFactorAttempt(ctx context.Context, siteName, email string) (*Attempt, error) {
	budgets := []Budget{{Key: accountKey(siteName, email), Max: s.limits.LoginFailures}}
	if addr := ClientAddrFrom(ctx); addr != "" {
		budgets = append(budgets, Budget{Key: "address:" + addr, Max: s.limits.AddressFailures})
	}
	attempt, spent, err := s.limiter.Begin(ctx, budgets...)
	if err != nil {
		return nil, err
	}
	if spent != nil {
		return nil, errs.E(errs.Forbidden, "too many failed sign-in attempts (%d a minute at most); wait a minute and try again", spent.Max)
	}
	return attempt, nil
}

func factorName(name, def string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = def
	}
	if len(name) > 100 {
		return "", errs.E(errs.Invalid, "a second factor's name must be at most 100 characters")
	}
	return name, nil
}

// recoveryHash is the stored form of a recovery code: SHA-256 over the user
// id and the code without dashes, upper-cased.
func recoveryHash(user uuid.UUID, code string) []byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	h := sha256.Sum256(append(user[:], c...))
	return h[:]
}

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes makes RecoveryCodeCount codes of 80 random bits, shown
// as XXXX-XXXX-XXXX-XXXX.
func newRecoveryCodes() ([]string, error) {
	out := make([]string, RecoveryCodeCount)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generating recovery codes: %w", err)
		}
		c := recoveryEncoding.EncodeToString(b)
		out[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
	}
	return out, nil
}

func replaceRecoveryCodes(ctx context.Context, tx pgx.Tx, site, user uuid.UUID) ([]string, error) {
	codes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, user); err != nil {
		return nil, fmt.Errorf("replacing recovery codes: %w", err)
	}
	for _, c := range codes {
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (site_id, user_id, code_hash) VALUES ($1, $2, $3)`, site, user, recoveryHash(user, c)); err != nil {
			return nil, fmt.Errorf("storing recovery codes: %w", err)
		}
	}
	return codes, nil
}

// ensureRecoveryCodes makes recovery codes for a member who has none left
// (their first factor) and returns them; nil when they have some.
func ensureRecoveryCodes(ctx context.Context, tx pgx.Tx, site, user uuid.UUID) ([]string, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, user).Scan(&n); err != nil {
		return nil, fmt.Errorf("counting recovery codes: %w", err)
	}
	if n > 0 {
		return nil, nil
	}
	return replaceRecoveryCodes(ctx, tx, site, user)
}

// RegenerateRecoveryCodes replaces p's recovery codes with ten new ones
// (the old ones stop working). p needs a confirmed second factor.
func (s *Store) RegenerateRecoveryCodes(ctx context.Context, p *Principal) ([]string, error) {
	var codes []string
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM second_factors WHERE user_id = $1 AND confirmed`, p.User.ID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return errs.E(errs.Invalid, "recovery codes go with a second factor: enrol an authenticator app or a passkey first")
		}
		var err error
		codes, err = replaceRecoveryCodes(ctx, tx, p.Site.ID, p.User.ID)
		return err
	})
	return codes, err
}

// SecondFactors returns p's factors (confirmed ones) and recovery codes left.
func (s *Store) SecondFactors(ctx context.Context, userID uuid.UUID) (*SecondFactorStatus, error) {
	st := &SecondFactorStatus{}
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, kind, name, confirmed, created_at, last_used FROM second_factors
			WHERE user_id = $1 AND confirmed ORDER BY created_at`, userID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var f SecondFactor
			if err := rows.Scan(&f.ID, &f.Kind, &f.Name, &f.Confirmed, &f.CreatedAt, &f.LastUsed); err != nil {
				rows.Close()
				return err
			}
			st.Factors = append(st.Factors, &f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL),
			COALESCE((SELECT (settings->>'require_second_factor')::boolean FROM sites WHERE id = bergamot_site()), false)`, userID).
			Scan(&st.RecoveryCodesLeft, &st.SiteRequires)
	})
	if err != nil {
		return nil, fmt.Errorf("listing second factors: %w", err)
	}
	return st, nil
}

// RemoveSecondFactor removes one of p's factors. Removing the last one
// needs p's password, checked now (wrong ones count against the sign-in
// budget); the recovery codes go with it.
func (s *Store) RemoveSecondFactor(ctx context.Context, p *Principal, id uuid.UUID, password string) (*SecondFactor, error) {
	st, err := s.SecondFactors(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	var f *SecondFactor
	for _, x := range st.Factors {
		if x.ID == id {
			f = x
		}
	}
	if f == nil {
		return nil, errs.E(errs.NotFound, "you have no second factor %s", id)
	}
	last := len(st.Factors) == 1
	if last {
		if password == "" {
			return nil, errs.E(errs.Invalid, "this is your last second factor: confirm your password (password) to remove it")
		}
		if err := s.confirmPassword(ctx, p, password); err != nil {
			return nil, err
		}
	}
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM second_factors WHERE id = $1 AND user_id = $2`, id, p.User.ID); err != nil {
			return err
		}
		if last {
			_, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, p.User.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("removing second factor: %w", err)
	}
	return f, nil
}

// confirmPassword checks p's password, throttled like a sign-in.
func (s *Store) confirmPassword(ctx context.Context, p *Principal, password string) error {
	attempt, err := s.beginFactorAttempt(ctx, p.Site.Name, p.User.Email)
	if err != nil {
		return err
	}
	var hash string
	if err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, p.User.ID).Scan(&hash); err != nil {
		attempt.Cancel(ctx)
		return fmt.Errorf("confirming password: %w", err)
	}
	var ok bool
	if err := s.gate.Do(ctx, func() error { ok = VerifyPassword(hash, password); return nil }); err != nil {
		attempt.Cancel(ctx)
		return err
	}
	if !ok {
		return errs.E(errs.Forbidden, "the password is wrong")
	}
	attempt.Succeed(ctx)
	return nil
}

// ResetSecondFactors removes every second factor and recovery code of a
// member of the site in ctx (an administrator's reset for a member who
// lost theirs). It fails with NotFound for someone not in this site.
func (s *Store) ResetSecondFactors(ctx context.Context, userID uuid.UUID) (int, error) {
	var n int
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var member bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = $1)`, userID).Scan(&member); err != nil {
			return err
		}
		if !member {
			return errs.E(errs.NotFound, "no member %s in this site", userID)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM second_factors WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		for _, q := range []string{`DELETE FROM recovery_codes WHERE user_id = $1`, `DELETE FROM second_factor_challenges WHERE user_id = $1`} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errs.Is(err, errs.NotFound) {
		return 0, fmt.Errorf("resetting second factors: %w", err)
	}
	return n, err
}

// SetRequireSecondFactor sets whether every member of the site in ctx needs
// a second factor. Members without one can then do nothing but enrol one.
func (s *Store) SetRequireSecondFactor(ctx context.Context, require bool) error {
	site, err := SiteFrom(ctx)
	if err != nil {
		return err
	}
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE sites SET settings = jsonb_set(settings, '{require_second_factor}', to_jsonb($2::boolean)) WHERE id = $1`, site, require)
		if err != nil {
			return fmt.Errorf("setting the second-factor requirement: %w", err)
		}
		return nil
	})
}

// loadCredentials reads the WebAuthn credentials of user (in tx's site).
func loadCredentials(ctx context.Context, tx pgx.Tx, user uuid.UUID) ([]webauthn.Credential, []uuid.UUID, error) {
	rows, err := tx.Query(ctx, `SELECT id, credential FROM second_factors WHERE user_id = $1 AND kind = 'webauthn' AND confirmed ORDER BY created_at`, user)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var creds []webauthn.Credential
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, nil, err
		}
		var c webauthn.Credential
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, nil, fmt.Errorf("reading WebAuthn credential %s: %w", id, err)
		}
		creds, ids = append(creds, c), append(ids, id)
	}
	return creds, ids, rows.Err()
}

// BeginPasskeyRegistration starts registering a security key or passkey
// for p. It returns the options for navigator.credentials.create (JSON,
// as PublicKeyCredential.parseCreationOptionsFromJSON takes under
// "publicKey") and a token FinishPasskeyRegistration needs.
func (s *Store) BeginPasskeyRegistration(ctx context.Context, p *Principal, rp RelyingParty) (options []byte, token string, err error) {
	wa, err := rp.webauthn()
	if err != nil {
		return nil, "", err
	}
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		creds, _, err := loadCredentials(ctx, tx, p.User.ID)
		if err != nil {
			return err
		}
		excl := make([]protocol.CredentialDescriptor, len(creds))
		for i := range creds {
			excl[i] = creds[i].Descriptor()
		}
		creation, sess, err := wa.BeginRegistration(&waUser{id: p.User.ID, email: p.User.Email, creds: creds}, webauthn.WithExclusions(excl),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred))
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "starting passkey registration")
		}
		if options, err = json.Marshal(creation); err != nil {
			return err
		}
		token, err = s.newChallenge(ctx, tx, p.Site.ID, p.User.ID, "register", sess)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("starting passkey registration: %w", err)
	}
	return options, token, nil
}

// FinishPasskeyRegistration checks the browser's answer (the JSON of the
// PublicKeyCredential navigator.credentials.create returned) and stores the
// credential as a factor named name. When p had no recovery codes, ten are
// made and returned (shown this once).
func (s *Store) FinishPasskeyRegistration(ctx context.Context, p *Principal, rp RelyingParty, token, name string, response []byte) (*SecondFactor, []string, error) {
	name, err := factorName(name, "Security key")
	if err != nil {
		return nil, nil, err
	}
	wa, err := rp.webauthn()
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Invalid, err, "the browser's passkey answer (response) is not a WebAuthn registration")
	}
	f := &SecondFactor{ID: uuid.New(), Kind: FactorWebAuthn, Name: name, Confirmed: true, CreatedAt: time.Now()}
	var codes []string
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		sess, err := takeChallenge(ctx, tx, token, "register", p.User.ID)
		if err != nil {
			return err
		}
		creds, _, err := loadCredentials(ctx, tx, p.User.ID)
		if err != nil {
			return err
		}
		cred, err := wa.CreateCredential(&waUser{id: p.User.ID, email: p.User.Email, creds: creds}, *sess, parsed)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "the passkey registration was refused")
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO second_factors (id, site_id, user_id, kind, name, confirmed, credential_id, credential)
			VALUES ($1, $2, $3, 'webauthn', $4, true, $5, $6)`, f.ID, p.Site.ID, p.User.ID, name, cred.ID, raw)
		if isUniqueViolation(err) {
			return errs.E(errs.Conflict, "this security key is already registered")
		}
		if err != nil {
			return err
		}
		codes, err = ensureRecoveryCodes(ctx, tx, p.Site.ID, p.User.ID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("registering passkey: %w", err)
	}
	return f, codes, nil
}

// newChallenge stores a challenge and returns its token.
func (s *Store) newChallenge(ctx context.Context, tx pgx.Tx, site, user uuid.UUID, purpose string, sess *webauthn.SessionData) (string, error) {
	plain, hash, err := newSecret(challengePrefix, site)
	if err != nil {
		return "", err
	}
	var raw []byte
	if sess != nil {
		if raw, err = json.Marshal(sess); err != nil {
			return "", err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM second_factor_challenges WHERE expires_at < now()`); err != nil {
		return "", err
	}
	_, err = tx.Exec(ctx, `INSERT INTO second_factor_challenges (id, site_id, user_id, purpose, token_hash, webauthn, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.New(), site, user, purpose, hash, raw, time.Now().Add(SecondFactorTTL))
	return plain, err
}

// takeChallenge consumes a registration challenge of user.
func takeChallenge(ctx context.Context, tx pgx.Tx, token, purpose string, user uuid.UUID) (*webauthn.SessionData, error) {
	_, hash, err := parseSecret(challengePrefix, token)
	if err != nil {
		return nil, errs.E(errs.Invalid, "the registration token is malformed; start again")
	}
	var raw []byte
	err = tx.QueryRow(ctx, `DELETE FROM second_factor_challenges WHERE token_hash = $1 AND purpose = $2 AND user_id = $3 AND expires_at > now() RETURNING webauthn`,
		hash, purpose, user).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.Invalid, "the registration expired or was used (it lasts %s); start again", SecondFactorTTL)
	}
	if err != nil {
		return nil, err
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal(raw, &sess); err != nil {
		return nil, fmt.Errorf("reading the registration's challenge: %w", err)
	}
	return &sess, nil
}

// factorMethods lists the sign-in methods user has in tx's site.
func factorMethods(ctx context.Context, tx pgx.Tx, user uuid.UUID) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT kind FROM second_factors WHERE user_id = $1 AND confirmed
		UNION SELECT 'recovery' FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY 1`, user)
	if err != nil {
		return nil, err
	}
	kinds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	// Recovery codes alone are no second factor (they outlive a removed
	// last factor only by mistake).
	for _, k := range kinds {
		if k != FactorRecovery {
			return kinds, nil
		}
	}
	return nil, nil
}

// secondFactorChallenge is called by login once the password is right:
// for a member with a second factor it opens a sign-in challenge instead
// of a session.
func (s *Store) secondFactorChallenge(ctx context.Context, p *Principal) (*SecondFactorNeeded, error) {
	var need *SecondFactorNeeded
	err := InSite(WithSite(ctx, p.Site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		methods, err := factorMethods(ctx, tx, p.User.ID)
		if err != nil || methods == nil {
			return err
		}
		token, err := s.newChallenge(ctx, tx, p.Site.ID, p.User.ID, "signin", nil)
		if err != nil {
			return err
		}
		need = &SecondFactorNeeded{Challenge: token, Methods: methods, ExpiresAt: time.Now().Add(SecondFactorTTL), User: p.User, Site: p.Site}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checking second factors: %w", err)
	}
	return need, nil
}

// signInChallenge is a sign-in waiting for its second factor.
type signInChallenge struct {
	id       uuid.UUID
	p        *Principal
	webauthn []byte
}

// loadSignIn finds the live sign-in challenge token and its member.
func (s *Store) loadSignIn(ctx context.Context, token string) (*signInChallenge, error) {
	gone := errs.E(errs.Unauthenticated, "this sign-in expired or was ended (it waits %s for the second factor); sign in again with your password", SecondFactorTTL)
	siteID, hash, err := parseSecret(challengePrefix, token)
	if err != nil {
		return nil, gone
	}
	site, err := s.SiteByID(ctx, siteID)
	if err != nil || site.Disabled {
		return nil, gone
	}
	c := &signInChallenge{p: &Principal{Site: site, Via: "session"}}
	err = InSite(WithSite(ctx, siteID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT c.id, u.id, u.email, u.display_name, u.created_at, m.role, u.must_change_password, c.webauthn
			FROM second_factor_challenges c JOIN users u ON u.id = c.user_id JOIN memberships m ON m.user_id = c.user_id
			WHERE c.token_hash = $1 AND c.purpose = 'signin' AND c.expires_at > now() AND m.disabled_at IS NULL`, hash).
			Scan(&c.id, &c.p.User.ID, &c.p.User.Email, &c.p.User.DisplayName, &c.p.User.CreatedAt, &c.p.Role, &c.p.MustChangePassword, &c.webauthn)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, gone
	}
	if err != nil {
		return nil, fmt.Errorf("reading the sign-in: %w", err)
	}
	return c, nil
}

// BeginPasskeySignIn returns the options for navigator.credentials.get
// (JSON, as PublicKeyCredential.parseRequestOptionsFromJSON takes under
// "publicKey") for the sign-in challenge token.
func (s *Store) BeginPasskeySignIn(ctx context.Context, token string, rp RelyingParty) ([]byte, error) {
	wa, err := rp.webauthn()
	if err != nil {
		return nil, err
	}
	c, err := s.loadSignIn(ctx, token)
	if err != nil {
		return nil, err
	}
	var options []byte
	err = InSite(WithSite(ctx, c.p.Site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		creds, _, err := loadCredentials(ctx, tx, c.p.User.ID)
		if err != nil {
			return err
		}
		if len(creds) == 0 {
			return errs.E(errs.Invalid, "you have no security key or passkey; use your authenticator app or a recovery code")
		}
		assertion, sess, err := wa.BeginLogin(&waUser{id: c.p.User.ID, email: c.p.User.Email, creds: creds})
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "starting passkey sign-in")
		}
		if options, err = json.Marshal(assertion); err != nil {
			return err
		}
		raw, err := json.Marshal(sess)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE second_factor_challenges SET webauthn = $2 WHERE id = $1`, c.id, raw)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("starting passkey sign-in: %w", err)
	}
	return options, nil
}

// SecondFactorProof is the second step of a sign-in: a TOTP code, a
// recovery code, or the JSON of the PublicKeyCredential that
// navigator.credentials.get returned.
type SecondFactorProof struct {
	Method string
	Code   string
	// WebAuthn is the browser's assertion (Method webauthn).
	WebAuthn []byte
	// RP is the relying party (Method webauthn).
	RP RelyingParty
}

// FinishSignIn checks the second factor of the sign-in challenge token and
// opens the session. Failures count against the account's and address's
// sign-in budgets, and a challenge takes at most five; each outcome and
// every recovery code used is written to the audit log.
func (s *Store) FinishSignIn(ctx context.Context, token string, proof SecondFactorProof) (string, *Principal, error) {
	c, err := s.loadSignIn(ctx, token)
	if err != nil {
		return "", nil, err
	}
	p := c.p
	attempt, err := s.beginFactorAttempt(ctx, p.Site.Name, p.User.Email)
	if err != nil {
		return "", nil, err
	}
	sctx := WithSite(ctx, p.Site.ID)
	var used string // what was used, for the audit log
	err = InSite(sctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		used, err = s.checkProof(ctx, tx, c, proof)
		return err
	})
	audit := AuditEntry{Actor: p.User.Email, ActorID: &p.User.ID, Via: ViaAnonymous, Action: "signInSecondFactor", Target: p.User.Email,
		Detail: map[string]any{"method": proof.Method}}
	if used != "" {
		audit.Detail["factor"] = used
	}
	if errs.Is(err, errs.Unauthenticated) {
		audit.Outcome = AuditFailed
		audit.Detail["reason"] = err.Error()
		_ = s.RecordAudit(sctx, audit)
		s.countChallengeFailure(sctx, c.id)
		return "", nil, err
	}
	if err != nil {
		attempt.Cancel(ctx)
		return "", nil, err
	}
	attempt.Succeed(ctx)
	_ = s.RecordAudit(sctx, audit)
	if proof.Method == FactorRecovery {
		_ = s.RecordAudit(sctx, AuditEntry{Actor: p.User.Email, ActorID: &p.User.ID, Via: ViaAnonymous, Action: "recoveryCodeUsed", Target: p.User.Email,
			Detail: map[string]any{"left": used}})
	}
	plain, err := s.openSessionFor(sctx, p, c.id)
	if err != nil {
		return "", nil, err
	}
	return plain, p, nil
}

// countChallengeFailure counts a wrong second factor on the challenge and
// ends it after challengeFailures.
func (s *Store) countChallengeFailure(ctx context.Context, id uuid.UUID) {
	_ = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE second_factor_challenges SET failures = failures + 1 WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM second_factor_challenges WHERE id = $1 AND failures >= $2`, id, challengeFailures)
		return err
	})
}

// checkProof checks proof for challenge c inside tx and marks what it
// used. A wrong proof is Unauthenticated (and nothing is changed).
func (s *Store) checkProof(ctx context.Context, tx pgx.Tx, c *signInChallenge, proof SecondFactorProof) (string, error) {
	user := c.p.User.ID
	switch proof.Method {
	case FactorTOTP:
		rows, err := tx.Query(ctx, `SELECT id, name, sealed_secret, last_step FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND confirmed FOR UPDATE`, user)
		if err != nil {
			return "", err
		}
		type tf struct {
			id     uuid.UUID
			name   string
			sealed []byte
			last   int64
		}
		var fs []tf
		for rows.Next() {
			var f tf
			if err := rows.Scan(&f.id, &f.name, &f.sealed, &f.last); err != nil {
				rows.Close()
				return "", err
			}
			fs = append(fs, f)
		}
		rows.Close()
		if len(fs) == 0 {
			return "", errs.E(errs.Invalid, "you have no authenticator app enrolled; use a security key or a recovery code")
		}
		for _, f := range fs {
			secret, err := s.openTOTP(c.p.Site.ID, user, f.id, f.sealed)
			if err != nil {
				return "", err
			}
			if step := matchTOTP(secret, proof.Code, time.Now(), f.last); step != 0 {
				_, err := tx.Exec(ctx, `UPDATE second_factors SET last_step = $2, last_used = now() WHERE id = $1`, f.id, step)
				return f.name, err
			}
		}
		return "", errs.E(errs.Unauthenticated, "the code is wrong or was already used; wait for the next one")
	case FactorRecovery:
		tag, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, user, recoveryHash(user, proof.Code))
		if err != nil {
			return "", err
		}
		if tag.RowsAffected() == 0 {
			return "", errs.E(errs.Unauthenticated, "the recovery code is wrong or was already used")
		}
		var left int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, user).Scan(&left); err != nil {
			return "", err
		}
		return fmt.Sprint(left), nil
	case FactorWebAuthn:
		wa, err := proof.RP.webauthn()
		if err != nil {
			return "", err
		}
		if c.webauthn == nil {
			return "", errs.E(errs.Invalid, "start the passkey sign-in first (beginPasskeySignIn)")
		}
		var sess webauthn.SessionData
		if err := json.Unmarshal(c.webauthn, &sess); err != nil {
			return "", fmt.Errorf("reading the sign-in's challenge: %w", err)
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(proof.WebAuthn)
		if err != nil {
			return "", errs.Wrap(errs.Unauthenticated, err, "the browser's passkey answer is not a WebAuthn assertion")
		}
		creds, ids, err := loadCredentials(ctx, tx, user)
		if err != nil {
			return "", err
		}
		cred, err := wa.ValidateLogin(&waUser{id: user, email: c.p.User.Email, creds: creds}, sess, parsed)
		if err != nil {
			return "", errs.Wrap(errs.Unauthenticated, err, "the security key's answer was refused")
		}
		if cred.Authenticator.CloneWarning {
			return "", errs.E(errs.Unauthenticated, "the security key's signature counter went backwards (a cloned key?); ask an administrator")
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return "", err
		}
		for i := range creds {
			if bytes.Equal(creds[i].ID, cred.ID) {
				_, err := tx.Exec(ctx, `UPDATE second_factors SET credential = $2, last_used = now() WHERE id = $1 RETURNING name`, ids[i], raw)
				if err != nil {
					return "", err
				}
				var name string
				err = tx.QueryRow(ctx, `SELECT name FROM second_factors WHERE id = $1`, ids[i]).Scan(&name)
				return name, err
			}
		}
		return "", errs.E(errs.Unauthenticated, "unknown security key")
	default:
		return "", errs.E(errs.Invalid, "method must be totp, webauthn or recovery, not %q", proof.Method)
	}
}
