package gateway

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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Key prefixes: a site's key carries its site id (like API tokens), so the
// node finds it under that site's row-level security; an operator key for a
// shared zone carries none.
const (
	siteKeyPrefix   = "bgw_"
	sharedKeyPrefix = "bgz_"
)

// KeysChannel is the NOTIFY channel a revocation is announced on (the
// payload is the key's id): every node listens and closes the key's
// connections at once, and still rechecks every RevalidateEvery in case a
// notification was missed (a node reconnecting to PostgreSQL).
const KeysChannel = "bergamot_worker_keys"

// Store owns the gateway's tables: shared_zones, shared_zone_keys,
// worker_keys and worker_connections.
type Store struct {
	Pool *pgxpool.Pool
}

// WorkerKey is a remote worker's key as listed; Key is set only in the
// answer that creates it.
type WorkerKey struct {
	ID        uuid.UUID
	Name      string
	Zone      string
	Key       *string
	CreatedAt time.Time
	LastSeen  *time.Time
	Revoked   bool
}

// Scope is what a key may serve: one zone, of one site or shared.
type Scope struct {
	KeyID  uuid.UUID
	Site   uuid.UUID // uuid.Nil for a shared zone
	Zone   string
	Shared bool
}

// Queue is the River queue the scope's jobs are in.
func (s Scope) Queue() string { return jobs.QueueFor(s.Site, s.Zone, s.Shared) }

// String names the scope in logs and errors.
func (s Scope) String() string {
	if s.Shared {
		return "shared zone " + s.Zone
	}
	return "site " + s.Site.String() + " zone " + s.Zone
}

func newKey(prefix string, site uuid.UUID) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generating key: %w", err)
	}
	plain := prefix
	if site != uuid.Nil {
		plain += strings.ReplaceAll(site.String(), "-", "") + "_"
	}
	plain += base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(plain))
	return plain, h[:], nil
}

// ValidateZoneName checks a zone name as given to CreateKey or CreateSharedZone.
func ValidateZoneName(zone string) error {
	if strings.TrimSpace(zone) != zone || zone == "" || len(zone) > 100 {
		return errs.E(errs.Invalid, "zone name %q must be 1 to 100 characters without surrounding spaces", zone)
	}
	return nil
}

// IsShared reports whether zone is an operator zone.
func (s *Store) IsShared(ctx context.Context, zone string) (bool, error) {
	ok, err := store.IsSharedZone(ctx, s.Pool, zone)
	if err != nil {
		return false, fmt.Errorf("looking up zone %q: %w", zone, err)
	}
	return ok, nil
}

// CreateSharedZone names an operator zone; it reports whether it was new.
func (s *Store) CreateSharedZone(ctx context.Context, zone string) (bool, error) {
	if err := ValidateZoneName(zone); err != nil {
		return false, err
	}
	created, err := store.CreateSharedZone(ctx, s.Pool, zone)
	if err != nil {
		return false, fmt.Errorf("creating shared zone %q: %w", zone, err)
	}
	return created, nil
}

// SharedZones lists the operator zones.
func (s *Store) SharedZones(ctx context.Context) ([]string, error) {
	zones, err := store.SharedZones(ctx, s.Pool)
	if err != nil {
		return nil, fmt.Errorf("listing shared zones: %w", err)
	}
	return zones, nil
}

// CreateSharedKey creates an operator key for a shared zone (command line only).
func (s *Store) CreateSharedKey(ctx context.Context, zone, name string) (*WorkerKey, error) {
	if err := validateKeyName(name); err != nil {
		return nil, err
	}
	ok, err := s.IsShared(ctx, zone)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.E(errs.NotFound, "no shared zone %q (create it with: bergamot zone create --shared %s)", zone, zone)
	}
	plain, hash, err := newKey(sharedKeyPrefix, uuid.Nil)
	if err != nil {
		return nil, err
	}
	k := &WorkerKey{ID: uuid.New(), Name: name, Zone: zone, Key: &plain, CreatedAt: time.Now()}
	if err := store.InsertSharedKey(ctx, s.Pool, k.ID, zone, name, hash); err != nil {
		return nil, fmt.Errorf("creating key: %w", err)
	}
	return k, nil
}

func validateKeyName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 100 {
		return errs.E(errs.Invalid, "key name must be 1 to 100 characters")
	}
	return nil
}

// CreateKey creates a key for the site in ctx's private zone. A shared
// zone's name cannot be a site's zone.
func (s *Store) CreateKey(ctx context.Context, zone, name string) (*WorkerKey, error) {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := ValidateZoneName(zone); err != nil {
		return nil, err
	}
	if err := validateKeyName(name); err != nil {
		return nil, err
	}
	shared, err := s.IsShared(ctx, zone)
	if err != nil {
		return nil, err
	}
	if shared {
		return nil, errs.E(errs.Invalid, "zone %q is an operator zone, served by the operator's workers; a site's keys serve only its private zones (name another worker-pool)", zone)
	}
	plain, hash, err := newKey(siteKeyPrefix, site)
	if err != nil {
		return nil, err
	}
	k := &WorkerKey{ID: uuid.New(), Name: name, Zone: zone, Key: &plain, CreatedAt: time.Now()}
	err = tenants.InSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.InsertWorkerKey(ctx, tx, k.ID, site, zone, name, hash)
	})
	if err != nil {
		return nil, fmt.Errorf("creating worker key: %w", err)
	}
	return k, nil
}

// RevokeKey revokes one of the site's keys; every node closes its
// connections within RevalidateEvery. It reports whether the key existed
// and was live.
func (s *Store) RevokeKey(ctx context.Context, id uuid.UUID) (bool, error) {
	var live bool
	err := tenants.InSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if live, err = store.RevokeWorkerKey(ctx, tx, id); err != nil || !live {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), $2)`, KeysChannel, id.String())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("revoking worker key: %w", err)
	}
	return live, nil
}

// RevokeSharedKey revokes an operator key (command line).
func (s *Store) RevokeSharedKey(ctx context.Context, id uuid.UUID) (bool, error) {
	var live bool
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		if live, err = store.RevokeSharedKey(ctx, tx, id); err != nil || !live {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), $2)`, KeysChannel, id.String())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("revoking key: %w", err)
	}
	return live, nil
}

// Keys lists the site's keys (never the keys themselves).
func (s *Store) Keys(ctx context.Context) ([]*WorkerKey, error) {
	var out []*WorkerKey
	err := tenants.InSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := store.WorkerKeys(ctx, tx)
		out = make([]*WorkerKey, 0, len(rows))
		for _, k := range rows {
			out = append(out, &WorkerKey{ID: k.ID, Name: k.Name, Zone: k.Zone, CreatedAt: k.CreatedAt, LastSeen: k.LastSeen, Revoked: k.Revoked})
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing worker keys: %w", err)
	}
	return out, nil
}

// ErrBadKey is returned for a key that is malformed, unknown or revoked.
var ErrBadKey = errs.E(errs.Unauthenticated, "invalid or revoked worker key")

// Authenticate resolves a worker key to the zone it serves.
func (s *Store) Authenticate(ctx context.Context, key string) (Scope, error) {
	h := sha256.Sum256([]byte(key))
	switch {
	case strings.HasPrefix(key, sharedKeyPrefix):
		sc := Scope{Shared: true}
		var err error
		sc.KeyID, sc.Zone, err = store.UseSharedKey(ctx, s.Pool, h[:])
		if errors.Is(err, pgx.ErrNoRows) {
			return Scope{}, ErrBadKey
		}
		if err != nil {
			return Scope{}, fmt.Errorf("checking worker key: %w", err)
		}
		return sc, nil
	case strings.HasPrefix(key, siteKeyPrefix):
		sitePart, _, ok := strings.Cut(strings.TrimPrefix(key, siteKeyPrefix), "_")
		site, err := uuid.Parse(sitePart)
		if !ok || err != nil {
			return Scope{}, ErrBadKey
		}
		sc := Scope{Site: site}
		if disabled, err := store.SiteDisabled(ctx, s.Pool, site); err != nil || disabled {
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return Scope{}, fmt.Errorf("checking worker key: %w", err)
			}
			return Scope{}, ErrBadKey
		}
		err = tenants.InSite(tenants.WithSite(ctx, site), s.Pool, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			sc.KeyID, sc.Zone, err = store.UseWorkerKey(ctx, tx, h[:])
			return err
		})
		var pe *pgconn.PgError
		if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) && pe.Code == "22P02" {
			return Scope{}, ErrBadKey
		}
		if err != nil {
			return Scope{}, fmt.Errorf("checking worker key: %w", err)
		}
		return sc, nil
	}
	return Scope{}, ErrBadKey
}

// stillValid returns which of keys (all of one site, or shared when site is
// uuid.Nil) are still live, and marks them seen.
func (s *Store) stillValid(ctx context.Context, site uuid.UUID, keys []uuid.UUID) (map[uuid.UUID]bool, error) {
	live := map[uuid.UUID]bool{}
	collect := func(ids []uuid.UUID, err error) error {
		for _, id := range ids {
			live[id] = true
		}
		return err
	}
	var err error
	if site == uuid.Nil {
		err = collect(store.LiveKeys(ctx, s.Pool, true, keys))
	} else {
		err = tenants.InSite(tenants.WithSite(ctx, site), s.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return collect(store.LiveKeys(ctx, tx, false, keys))
		})
	}
	if err != nil {
		return nil, fmt.Errorf("checking worker keys: %w", err)
	}
	return live, nil
}
