package tenants

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// The audit log: every sign-in, mutation, configuration apply, credential
// issue and revoke, role change and member removal of a site, with who,
// when, from where and what. The application may only add to it (the
// database grants bergamot_app SELECT and INSERT on audit_log, nothing
// else); entries older than the site's retention are removed by the
// database function audit_prune (PruneAudit).

// Outcomes of an audited action.
const (
	AuditOK     = "ok"
	AuditFailed = "failed"
	AuditDenied = "denied"
)

// Ways an actor reached the site, besides a principal's Via ("session",
// "token").
const (
	ViaOperator  = "cli"       // an operator command on the server
	ViaAnonymous = "anonymous" // not signed in (a sign-in attempt)
)

// AuditEntry is one line of a site's audit log.
type AuditEntry struct {
	ID      int64
	At      time.Time
	ActorID *uuid.UUID
	// Actor is the email of the member (or the one a sign-in named), or
	// "operator" for command-line actions.
	Actor   string
	Via     string
	Address string
	// Action is what was done: a GraphQL mutation's name, "signIn",
	// "rest:POST /api/v1/config", "operator:site disable", ...
	Action string
	// Target names the object acted on, when there is one.
	Target  string
	Outcome string
	// Detail holds the arguments (secrets left out) and the error, if any.
	Detail map[string]any
}

// DefaultAuditRetentionDays is how long a site's audit entries are kept
// unless its administrators choose otherwise.
const DefaultAuditRetentionDays = 400

// fill completes e from ctx: the principal as actor, the client address,
// and "ok" as outcome.
func (e *AuditEntry) fill(ctx context.Context) {
	if p, err := PrincipalFrom(ctx); err == nil && e.Actor == "" {
		id := p.User.ID
		e.ActorID, e.Actor, e.Via = &id, p.User.Email, p.Via
	}
	if e.Via == "" {
		e.Via = ViaAnonymous
	}
	if e.Address == "" {
		e.Address = ClientAddrFrom(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = AuditOK
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
}

// RecordAudit adds e to the audit log of the site in ctx, in its own
// transaction.
func (s *Store) RecordAudit(ctx context.Context, e AuditEntry) error {
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error { return RecordAuditTx(ctx, tx, e) })
}

// RecordAuditTx adds e to the audit log inside tx (already set to the site
// in ctx), so the entry commits or rolls back with what it records.
func RecordAuditTx(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	site, err := SiteFrom(ctx)
	if err != nil {
		return err
	}
	e.fill(ctx)
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (site_id, actor_id, actor, via, address, action, target, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, site, e.ActorID, e.Actor, e.Via, e.Address, e.Action, e.Target, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("recording %s in the audit log: %w", e.Action, err)
	}
	return nil
}

// auditSignIn records a sign-in attempt that reached the password check.
// A failure to record is not the signing-in user's problem: it is dropped
// (the entry would say nothing the server log does not).
func (s *Store) auditSignIn(ctx context.Context, site uuid.UUID, email string, userID *uuid.UUID, outcome, why string) {
	e := AuditEntry{Actor: email, ActorID: userID, Via: ViaAnonymous, Action: "signIn", Target: email, Outcome: outcome}
	if why != "" {
		e.Detail = map[string]any{"reason": why}
	}
	_ = s.RecordAudit(WithSite(ctx, site), e)
}

// AuditPage is one page of a site's audit log, newest first.
type AuditPage struct {
	Entries []*AuditEntry
	// HasMore: older entries follow; pass EndCursor as after.
	HasMore   bool
	EndCursor string
}

// MaxAuditPage bounds first.
const MaxAuditPage = 500

// AuditLog returns up to first entries of the site in ctx older than the
// cursor after ("" for the newest).
func (s *Store) AuditLog(ctx context.Context, first int, after string) (*AuditPage, error) {
	if first <= 0 {
		first = 50
	}
	if first > MaxAuditPage {
		return nil, errs.E(errs.Invalid, "first must be at most %d", MaxAuditPage)
	}
	var before *int64
	if after != "" {
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil || n <= 0 {
			return nil, errs.E(errs.Invalid, "after %q is not a cursor of the audit log (use pageInfo.endCursor)", after)
		}
		before = &n
	}
	page := &AuditPage{}
	err := InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, at, actor_id, actor, via, address, action, target, outcome, detail FROM audit_log
			WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2`, before, first+1)
		if err != nil {
			return fmt.Errorf("reading the audit log: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e AuditEntry
			if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Via, &e.Address, &e.Action, &e.Target, &e.Outcome, &e.Detail); err != nil {
				return fmt.Errorf("reading the audit log: %w", err)
			}
			page.Entries = append(page.Entries, &e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if len(page.Entries) > first {
		page.Entries, page.HasMore = page.Entries[:first], true
	}
	if n := len(page.Entries); n > 0 {
		page.EndCursor = strconv.FormatInt(page.Entries[n-1].ID, 10)
	}
	return page, nil
}

// AuditRetentionDays returns how many days the site in ctx keeps its
// audit log.
func (s *Store) AuditRetentionDays(ctx context.Context) (int, error) {
	site, err := SiteFrom(ctx)
	if err != nil {
		return 0, err
	}
	var days *int
	err = s.pool.QueryRow(ctx, `SELECT (settings->>'audit_retention_days')::int FROM sites WHERE id = $1`, site).Scan(&days)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errs.E(errs.NotFound, "no such site")
	}
	if err != nil {
		return 0, fmt.Errorf("reading audit retention: %w", err)
	}
	if days == nil {
		return DefaultAuditRetentionDays, nil
	}
	return *days, nil
}

// Audit retention bounds, in days.
const (
	MinAuditRetentionDays = 30
	MaxAuditRetentionDays = 3650
)

// SetAuditRetention sets how many days the site in ctx keeps its audit log
// (MinAuditRetentionDays to MaxAuditRetentionDays). The API records the
// change in the log like every other mutation.
func (s *Store) SetAuditRetention(ctx context.Context, days int) error {
	if days < MinAuditRetentionDays || days > MaxAuditRetentionDays {
		return errs.E(errs.Invalid, "audit retention must be %d to %d days, not %d", MinAuditRetentionDays, MaxAuditRetentionDays, days)
	}
	site, err := SiteFrom(ctx)
	if err != nil {
		return err
	}
	return InSite(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sites SET settings = jsonb_set(settings, '{audit_retention_days}', to_jsonb($2::int)) WHERE id = $1`, site, days); err != nil {
			return fmt.Errorf("setting audit retention: %w", err)
		}
		return nil
	})
}

// PruneAudit removes the audit entries every site keeps no longer, and
// returns how many went. Only the database function audit_prune can delete
// from the log; it reads each site's retention itself.
func (s *Store) PruneAudit(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT audit_prune()`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pruning the audit log: %w", err)
	}
	return n, nil
}
