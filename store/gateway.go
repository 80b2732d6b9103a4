package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file holds the SQL of the worker gateway's table family: operator
// zones (shared_zones) and their keys (shared_zone_keys), sites' worker
// keys (worker_keys, tenant data), remote workers' connections
// (worker_connections, tenant data), and remote workers of operator zones,
// which have rows in workers beside the direct ones. gateway.Store and
// gateway.Hub are its callers; tenant tables are written inside the
// caller's site transaction (tenants.InSite), the shared tables on the pool.

// DBTX is a pool or a transaction: what the gateway's statements run on.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// IsSharedZone reports whether zone is an operator zone.
func IsSharedZone(ctx context.Context, db DBTX, zone string) (bool, error) {
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM shared_zones WHERE name = $1)`, zone).Scan(&ok)
	return ok, err
}

// CreateSharedZone names an operator zone; it reports whether it was new.
func CreateSharedZone(ctx context.Context, db DBTX, zone string) (bool, error) {
	tag, err := db.Exec(ctx, `INSERT INTO shared_zones (name) VALUES ($1) ON CONFLICT DO NOTHING`, zone)
	return tag.RowsAffected() == 1, err
}

// SharedZones lists the operator zones by name.
func SharedZones(ctx context.Context, db DBTX) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT name FROM shared_zones ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// InsertSharedKey records an operator key (its hash only) for zone.
func InsertSharedKey(ctx context.Context, db DBTX, id uuid.UUID, zone, name string, hash []byte) error {
	_, err := db.Exec(ctx, `INSERT INTO shared_zone_keys (id, zone, name, key_hash) VALUES ($1, $2, $3, $4)`, id, zone, name, hash)
	return err
}

// InsertWorkerKey records a site's worker key (its hash only), in the
// site's transaction.
func InsertWorkerKey(ctx context.Context, tx pgx.Tx, id, site uuid.UUID, zone, name string, hash []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO worker_keys (id, site_id, zone, name, key_hash) VALUES ($1, $2, $3, $4, $5)`, id, site, zone, name, hash)
	return err
}

// RevokeWorkerKey revokes one of the site's keys; false when it was not
// live.
func RevokeWorkerKey(ctx context.Context, tx pgx.Tx, id uuid.UUID) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE worker_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	return tag.RowsAffected() == 1, err
}

// RevokeSharedKey revokes an operator key; false when it was not live.
func RevokeSharedKey(ctx context.Context, db DBTX, id uuid.UUID) (bool, error) {
	tag, err := db.Exec(ctx, `UPDATE shared_zone_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	return tag.RowsAffected() == 1, err
}

// WorkerKeyRow is a site's worker key as listed (never the key).
type WorkerKeyRow struct {
	ID        uuid.UUID
	Name      string
	Zone      string
	CreatedAt time.Time
	LastSeen  *time.Time
	Revoked   bool
}

// WorkerKeys lists the site's keys by zone, name and age.
func WorkerKeys(ctx context.Context, tx pgx.Tx) ([]WorkerKeyRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, zone, created_at, last_seen, revoked_at IS NOT NULL FROM worker_keys ORDER BY zone, name, created_at`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkerKeyRow, error) {
		var k WorkerKeyRow
		return k, r.Scan(&k.ID, &k.Name, &k.Zone, &k.CreatedAt, &k.LastSeen, &k.Revoked)
	})
}

// UseSharedKey finds the live operator key with this hash and marks it
// seen; pgx.ErrNoRows when there is none.
func UseSharedKey(ctx context.Context, db DBTX, hash []byte) (id uuid.UUID, zone string, err error) {
	err = db.QueryRow(ctx, `UPDATE shared_zone_keys SET last_seen = now() WHERE key_hash = $1 AND revoked_at IS NULL RETURNING id, zone`, hash).
		Scan(&id, &zone)
	return id, zone, err
}

// UseWorkerKey finds the site's live key with this hash and marks it seen;
// pgx.ErrNoRows when there is none.
func UseWorkerKey(ctx context.Context, tx pgx.Tx, hash []byte) (id uuid.UUID, zone string, err error) {
	err = tx.QueryRow(ctx, `UPDATE worker_keys SET last_seen = now() WHERE key_hash = $1 AND revoked_at IS NULL RETURNING id, zone`, hash).
		Scan(&id, &zone)
	return id, zone, err
}

// SiteDisabled reports whether the site is disabled (pgx.ErrNoRows: no
// such site), read on the pool before its transaction.
func SiteDisabled(ctx context.Context, db DBTX, site uuid.UUID) (bool, error) {
	var disabled bool
	err := db.QueryRow(ctx, `SELECT disabled FROM sites WHERE id = $1`, site).Scan(&disabled)
	return disabled, err
}

// LiveKeys returns which of keys are still live and marks those seen: the
// operator's (shared true, on the pool) or the site's (in its transaction).
func LiveKeys(ctx context.Context, db DBTX, shared bool, keys []uuid.UUID) ([]uuid.UUID, error) {
	const q = ` SET last_seen = now() WHERE id = ANY($1) AND revoked_at IS NULL RETURNING id`
	table := `UPDATE worker_keys`
	if shared {
		table = `UPDATE shared_zone_keys`
	}
	rows, err := db.Query(ctx, table+q, keys)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// ZoneCheckCounts counts the site's scheduled checks per zone.
func ZoneCheckCounts(ctx context.Context, tx pgx.Tx) (map[string]int, error) {
	rows, err := tx.Query(ctx, `SELECT zone, count(*) FROM check_schedule GROUP BY zone`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

// KeyedZones lists the zones the site has live keys for.
func KeyedZones(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT zone FROM worker_keys WHERE revoked_at IS NULL`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ZoneWorkerRow is one live worker of a zone. Node is the serve node a
// remote worker is connected to ("" for the operator's zones' workers).
type ZoneWorkerRow struct {
	ID          uuid.UUID
	Zone        string
	Name        string
	Version     string
	Engines     []string
	Node        string
	Address     string
	InFlight    int
	ConnectedAt time.Time
	LastSeen    time.Time
}

func collectZoneWorkers(rows pgx.Rows, err error) ([]ZoneWorkerRow, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ZoneWorkerRow, error) {
		var w ZoneWorkerRow
		return w, r.Scan(&w.ID, &w.Zone, &w.Name, &w.Version, &w.Engines, &w.Node, &w.Address, &w.InFlight, &w.ConnectedAt, &w.LastSeen)
	})
}

// LiveConnections lists the site's remote workers connected and heard from
// in the last 30 seconds, by zone and name.
func LiveConnections(ctx context.Context, tx pgx.Tx) ([]ZoneWorkerRow, error) {
	return collectZoneWorkers(tx.Query(ctx, `SELECT id, zone, name, version, engines, node, address, in_flight, connected_at, last_seen FROM worker_connections
			WHERE closed_at IS NULL AND last_seen > now() - interval '30 seconds' ORDER BY zone, name`))
}

// LiveZoneWorkers lists the workers (direct, and remote ones of operator
// zones) of zones heard from in the last 30 seconds, by zone and name.
func LiveZoneWorkers(ctx context.Context, db DBTX, zones []string) ([]ZoneWorkerRow, error) {
	return collectZoneWorkers(db.Query(ctx, `SELECT id, zone, name, version, engines, '', address, in_flight, started_at, last_seen FROM workers
		WHERE zone = ANY($1) AND stopped_at IS NULL AND last_seen > now() - interval '30 seconds' ORDER BY zone, name`, zones))
}

// RemoteWorker is a remote worker's connection as the gateway records it.
type RemoteWorker struct {
	ID, Site, Key                      uuid.UUID
	Zone, Name, Version, Node, Address string
	Engines                            []string
}

// RecordSharedConnect records a remote worker of an operator zone in
// workers.
func RecordSharedConnect(ctx context.Context, db DBTX, w RemoteWorker) error {
	_, err := db.Exec(ctx, `INSERT INTO workers (id, name, zone, engines, version, remote, address) VALUES ($1, $2, $3, $4, $5, true, $6)`,
		w.ID, w.Name, w.Zone, w.Engines, w.Version, w.Address)
	return err
}

// RecordConnect records a site's remote worker in worker_connections, in
// the site's transaction.
func RecordConnect(ctx context.Context, tx pgx.Tx, w RemoteWorker) error {
	_, err := tx.Exec(ctx, `INSERT INTO worker_connections (id, site_id, key_id, zone, name, version, engines, node, address)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, w.ID, w.Site, w.Key, w.Zone, w.Name, w.Version, w.Engines, w.Node, w.Address)
	return err
}

// RecordSharedDisconnect marks an operator zone's remote worker stopped.
func RecordSharedDisconnect(ctx context.Context, db DBTX, id uuid.UUID) error {
	_, err := db.Exec(ctx, `UPDATE workers SET stopped_at = now(), last_seen = now() WHERE id = $1`, id)
	return err
}

// RecordDisconnect marks a site's remote worker's connection closed, in
// the site's transaction.
func RecordDisconnect(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE worker_connections SET closed_at = now(), last_seen = now() WHERE id = $1`, id)
	return err
}

// TouchConnections marks remote workers seen with the checks each is
// running (busy[i] for ids[i]): the operator zones' in workers (shared,
// on the pool), a site's in worker_connections (in its transaction).
func TouchConnections(ctx context.Context, db DBTX, shared bool, ids []uuid.UUID, busy []int32) error {
	const set = ` SET last_seen = now(), in_flight = u.busy FROM unnest($1::uuid[], $2::int[]) AS u(id, busy) WHERE t.id = u.id`
	table := `UPDATE worker_connections t`
	if shared {
		table = `UPDATE workers t`
	}
	_, err := db.Exec(ctx, table+set, ids, busy)
	return err
}
