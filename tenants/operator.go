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

// What the operator of an installation does to sites, from the command
// line (bergamot site list|disable|enable|export|delete|invite). Each
// action is recorded in the site's audit log with actor "operator".

// operatorEntry is the audit entry of an operator action.
func operatorEntry(action, target string, detail map[string]any) AuditEntry {
	return AuditEntry{Actor: "operator", Via: ViaOperator, Action: "operator:" + action, Target: target, Detail: detail}
}

// operatorAudit records an operator action in site's log, inside tx.
func operatorAudit(ctx context.Context, tx pgx.Tx, site uuid.UUID, action string, detail map[string]any) error {
	return RecordAuditTx(WithSite(ctx, site), tx, operatorEntry(action, "", detail))
}

// RecordOperator records in the log of ctx's site an operator action on
// target that ran through the Store's member methods (bergamot user
// disable, token revoke, ...); a non-nil failed marks it failed with its
// message.
func (s *Store) RecordOperator(ctx context.Context, action, target string, detail map[string]any, failed error) error {
	e := operatorEntry(action, target, detail)
	if failed != nil {
		e.Outcome = AuditFailed
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail["error"] = failed.Error()
	}
	return s.RecordAudit(ctx, e)
}

// SiteSummary is a site as the operator's list shows it.
type SiteSummary struct {
	Site
	Members  int
	Checks   int
	LastSeen *time.Time // the newest session activity
}

// SiteSummaries lists every site with its member and check counts. It
// reads each site under its own row-level security setting.
func (s *Store) SiteSummaries(ctx context.Context) ([]*SiteSummary, error) {
	sites, err := s.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*SiteSummary, 0, len(sites))
	for _, site := range sites {
		sum := &SiteSummary{Site: *site}
		err := InSite(WithSite(ctx, site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM memberships), (SELECT count(*) FROM checks),
				(SELECT max(last_seen) FROM sessions)`).Scan(&sum.Members, &sum.Checks, &sum.LastSeen)
		})
		if err != nil {
			return nil, fmt.Errorf("summarising site %s: %w", site.Name, err)
		}
		out = append(out, sum)
	}
	return out, nil
}

// SetSiteDisabled disables (or enables) a site. A disabled site's members
// cannot sign in, and every session and token of it is refused at once
// (WebSockets close at their next credential check); its checks keep
// their configuration. The change is recorded in the site's audit log.
//
// rows pauses the site's checks (store.SiteRows, the owner of the
// schedule).
func (s *Store) SetSiteDisabled(ctx context.Context, name string, disabled bool, rows SiteRows) (*Site, error) {
	site, err := s.SiteByName(ctx, name)
	if err != nil {
		return nil, err
	}
	err = InSite(WithSite(ctx, site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sites SET disabled = $2 WHERE id = $1`, site.ID, disabled); err != nil {
			return fmt.Errorf("disabling site: %w", err)
		}
		if err := rows.PauseSite(ctx, tx, site.ID, disabled); err != nil {
			return err
		}
		action := "site enable"
		if disabled {
			action = "site disable"
		}
		return operatorAudit(ctx, tx, site.ID, action, nil)
	})
	if err != nil {
		return nil, err
	}
	site.Disabled = disabled
	return site, nil
}

// DeleteSite removes a site and every row that belongs to it, in one
// transaction: the tables that reference sites go by their foreign keys'
// ON DELETE CASCADE, and those that do not (metrics and its 5-minute and
// hourly rollups, partitioned, and the result inbox, a queue) are emptied
// of the site first; so are its River jobs and private queues (rows:
// store.SiteRows, their owner), which would otherwise still run. confirm
// must repeat the site's name.
func (s *Store) DeleteSite(ctx context.Context, name, confirm string, rows SiteRows) error {
	site, err := s.SiteByName(ctx, name)
	if err != nil {
		return err
	}
	if confirm != site.Name {
		return errs.E(errs.Invalid, "deleting site %q removes all its data for good: confirm with its name (--confirm %s)", site.Name, site.Name)
	}
	return InSite(WithSite(ctx, site.ID), s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := rows.PurgeSiteJobs(ctx, tx, site.ID); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM metrics WHERE site_id = $1`, `DELETE FROM metrics_5m WHERE site_id = $1`, `DELETE FROM metrics_1h WHERE site_id = $1`, `DELETE FROM result_inbox WHERE site_id = $1`, `DELETE FROM sites WHERE id = $1`} {
			if _, err := tx.Exec(ctx, q, site.ID); err != nil {
				return fmt.Errorf("deleting site %s: %w", site.Name, err)
			}
		}
		return nil
	})
}

// SiteExport is what the operator's export of a site holds besides its
// configuration (which the store exports as XML): the site, its members
// (no password hashes), its tokens and sessions (no secrets) and its
// audit log.
type SiteExport struct {
	Site     *Site         `json:"site"`
	Members  []*Member     `json:"members"`
	Tokens   []*TokenInfo  `json:"tokens"`
	Sessions []*Session    `json:"sessions"`
	Audit    []*AuditEntry `json:"audit"`
	Config   string        `json:"config,omitempty"`
}

// ExportSite gathers a site's accounts and audit log for the operator, and
// records the export in the audit log.
func (s *Store) ExportSite(ctx context.Context, name string) (*SiteExport, error) {
	site, err := s.SiteByName(ctx, name)
	if err != nil {
		return nil, err
	}
	ctx = WithSite(ctx, site.ID)
	ex := &SiteExport{Site: site}
	if ex.Members, err = s.Members(ctx); err != nil {
		return nil, err
	}
	if ex.Tokens, err = s.Tokens(ctx, uuid.Nil); err != nil {
		return nil, err
	}
	if ex.Sessions, err = s.Sessions(ctx, uuid.Nil); err != nil {
		return nil, err
	}
	after := ""
	for {
		page, err := s.AuditLog(ctx, MaxAuditPage, after)
		if err != nil {
			return nil, err
		}
		ex.Audit = append(ex.Audit, page.Entries...)
		if !page.HasMore {
			break
		}
		after = page.EndCursor
	}
	err = InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		return operatorAudit(ctx, tx, site.ID, "site export", nil)
	})
	return ex, err
}

// signupInvitePrefix starts every signup invitation code.
const signupInvitePrefix = "bgi_"

// CreateSignupInvite makes a single-use code that lets one person sign up
// a site while signup is invite-only (serve --signup invite); with email
// set, only for that email. The plain code is returned once; only its
// hash is kept.
func (s *Store) CreateSignupInvite(ctx context.Context, email, note string, ttl time.Duration) (string, time.Time, error) {
	if email != "" {
		var err error
		if email, err = NormalizeEmail(email); err != nil {
			return "", time.Time{}, err
		}
	}
	if ttl <= 0 || ttl > 90*24*time.Hour {
		return "", time.Time{}, errs.E(errs.Invalid, "an invitation lasts from a minute to 90 days, not %s", ttl)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, fmt.Errorf("making invitation: %w", err)
	}
	code := signupInvitePrefix + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(code))
	expires := time.Now().Add(ttl).Truncate(time.Second)
	_, err := s.pool.Exec(ctx, `INSERT INTO signup_invites (id, code_hash, email, note, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		uuid.New(), h[:], email, note, expires)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("making invitation: %w", err)
	}
	return code, expires, nil
}

// useSignupInvite spends an invitation code for email inside the signup
// transaction; an unknown, used, expired or other-email code is refused
// with one message (it does not say which).
func useSignupInvite(ctx context.Context, tx pgx.Tx, code, email string, site uuid.UUID) error {
	h := sha256.Sum256([]byte(strings.TrimSpace(code)))
	var id uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE signup_invites SET used_at = now(), created_site = $3
		WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() AND (email = '' OR email = $2) RETURNING id`, h[:], email, site).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.Forbidden, "that invitation code is unknown, already used, expired or for another email; ask the operator for a new one")
	}
	if err != nil {
		return fmt.Errorf("using invitation: %w", err)
	}
	return nil
}

// SiteRows is what an operator's change to a whole site asks of the owner
// of the pipeline's tables (the schedule, River's jobs and queues):
// store.SiteRows implements it. tenants cannot import store (store
// imports tenants), so the caller passes it.
type SiteRows interface {
	// PauseSite pauses or resumes the site's scheduled checks.
	PauseSite(ctx context.Context, tx pgx.Tx, site uuid.UUID, paused bool) error
	// PurgeSiteJobs removes the site's River jobs and private queues.
	PurgeSiteJobs(ctx context.Context, tx pgx.Tx, site uuid.UUID) error
}
