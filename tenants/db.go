package tenants

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// AppRole is the database role the application runs as. It owns nothing and
// cannot bypass row-level security.
const AppRole = "bergamot_app"

// OpenPool connects to url and makes every connection act as AppRole, so the
// application is confined by row-level security even when url names the
// owner (as the embedded database does). maxConns 0 keeps pgx's default.
func OpenPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	return OpenPoolWith(ctx, url, maxConns, nil)
}

// OpenPoolWith is OpenPool with a hook that may change the pool's
// configuration first (tests attach a query tracer, for one).
func OpenPoolWith(ctx context.Context, url string, maxConns int32, tune func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	return openPool(ctx, url, AppRole, maxConns, tune)
}

// WorkerRole is the role a direct worker's connections switch to: River's
// tables, its own presence and hand-back, and under row-level security the
// definitions, sealed credentials and SSH host keys of the checks it runs;
// no users, sessions, tokens, keys, state or history (migration 000028).
const WorkerRole = "bergamot_worker"

// OpenWorkerPool is OpenPool for a direct worker: its connections switch to
// WorkerRole, so the login in url may be one made only for workers
// (CREATE ROLE ... LOGIN IN ROLE bergamot_worker).
func OpenWorkerPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	return openPool(ctx, url, WorkerRole, maxConns, nil)
}

func openPool(ctx context.Context, url, role string, maxConns int32, tune func(*pgxpool.Config)) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "SET ROLE "+role); err != nil {
			return fmt.Errorf("switching to role %s (the login must be a member of it): %w", role, err)
		}
		return nil
	}
	if tune != nil {
		tune(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	return pool, nil
}

type siteKey struct{}

// WithSite returns a context carrying the site id of the current request or job.
func WithSite(ctx context.Context, site uuid.UUID) context.Context {
	return context.WithValue(ctx, siteKey{}, site)
}

// ErrNoSite is returned when tenant data is reached without a site in the context.
var ErrNoSite = errors.New("no site in context")

// SiteFrom returns the site id in ctx, or ErrNoSite: never a silent default.
func SiteFrom(ctx context.Context) (uuid.UUID, error) {
	s, ok := ctx.Value(siteKey{}).(uuid.UUID)
	if !ok || s == uuid.Nil {
		return uuid.Nil, ErrNoSite
	}
	return s, nil
}

// Beginner is what InSite needs: a pool or a connection, which can begin
// a transaction with a custom BEGIN statement.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// InSite runs fn in a transaction confined to the site in ctx by row-level
// security, and to the security domains of the member in ctx, if any
// (domains.go). The setting is transaction-local (set_config(..., true)), so it
// can never leak to another use of the connection. fn's error rolls back.
// BEGIN and the setting travel in one round trip.
func InSite(ctx context.Context, db Beginner, fn func(ctx context.Context, tx pgx.Tx) error) error {
	site, err := SiteFrom(ctx)
	if err != nil {
		return err
	}
	// A uuid's text form is hex digits and dashes: safe to inline. The
	// security domains (domains.go) are set in the same round trip.
	begin := "BEGIN; SELECT set_config('bergamot.site_id', '" + site.String() + "', true); "
	if p := restricted(ctx); p != nil {
		begin += domainsSQL(p)
	} else {
		begin += allDomainsSQL
	}
	opts := pgx.TxOptions{BeginQuery: begin}
	return pgx.BeginTxFunc(ctx, db, opts, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// SiteBatch returns a batch whose first statement confines it to site by
// row-level security; queue reads after it. Send it on a pool or a
// connection, not inside a transaction: pgx then runs the whole batch as
// one implicit transaction, so the transaction-local setting covers
// exactly the batch's statements, and the setting plus every read travel
// in one round trip.
func SiteBatch(site uuid.UUID) *pgx.Batch {
	b := &pgx.Batch{}
	QueueSetSite(b, site)
	return b
}

// setSiteSQL confines the rest of the transaction to the site $1, all
// its security domains (the system's own work: see domains.go).
const setSiteSQL = "SELECT set_config('bergamot.site_id', $1, true), set_config('bergamot.domains', '*', true)"

// QueueSetSite queues on b what SetSite does: the statements queued after
// it, and the rest of their transaction, see only site's rows (in every
// security domain: for the system's own reads, never a member's).
func QueueSetSite(b *pgx.Batch, site uuid.UUID) {
	b.Queue(setSiteSQL, site.String())
}

// SetSite switches an open transaction to site, all its security domains.
// Used by batch processors that handle several sites' rows in one
// transaction, one site at a time; never for a member's request.
func SetSite(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
	if site == uuid.Nil {
		return ErrNoSite
	}
	if _, err := tx.Exec(ctx, setSiteSQL, site.String()); err != nil {
		return fmt.Errorf("setting site: %w", err)
	}
	return nil
}
