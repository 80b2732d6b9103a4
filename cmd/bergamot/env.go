package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/devdb"
	"github.com/bergamot-monitoring/bergamot/migrations"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Env is the process environment, read once.
type Env struct {
	DatabaseURL string
	Data        string
	Listen      string
	Zone        string
	Domain      string
	SecretKey   string
	Logger      *slog.Logger
	// Policy is the execution policy (nil: trusted), set from
	// --exec-policy by the roles that have it (cmd/bergamot/policy.go).
	Policy *checks.Policy
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// LoadEnv reads the environment variables of CONTRACTS.md.
func LoadEnv(log *slog.Logger) *Env {
	return &Env{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		Data:        getenv("BERGAMOT_DATA", "./.bergamot"),
		Listen:      getenv("BERGAMOT_LISTEN", ":8080"),
		Zone:        getenv("BERGAMOT_ZONE", "default"),
		Domain:      os.Getenv("BERGAMOT_DOMAIN"),
		SecretKey:   os.Getenv("BERGAMOT_SECRET_KEY"),
		Logger:      log,
	}
}

// DB is an open database: the owner URL (for migrations) and the
// application pool (confined by row-level security).
type DB struct {
	OwnerURL string
	Pool     *pgxpool.Pool
	cluster  *devdb.Cluster
}

// Close closes the pool and stops a private cluster this process started.
func (d *DB) Close() {
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.cluster != nil {
		_ = d.cluster.Stop(context.Background())
	}
}

// OpenDB connects to DATABASE_URL, or starts (or adopts) the private
// cluster under BERGAMOT_DATA, migrates when migrate is set, and opens the pool.
func (e *Env) OpenDB(ctx context.Context, migrate bool, maxConns int32) (*DB, error) {
	return e.openDB(ctx, migrate, maxConns, tenants.OpenPool)
}

// OpenWorkerDB is OpenDB for a direct worker: no migrations, and its
// connections act as tenants.WorkerRole.
func (e *Env) OpenWorkerDB(ctx context.Context, maxConns int32) (*DB, error) {
	return e.openDB(ctx, false, maxConns, tenants.OpenWorkerPool)
}

func (e *Env) openDB(ctx context.Context, migrate bool, maxConns int32, open func(context.Context, string, int32) (*pgxpool.Pool, error)) (*DB, error) {
	db := &DB{OwnerURL: e.DatabaseURL}
	if db.OwnerURL == "" {
		c, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(e.Data, "postgres"), Database: "bergamot", Install: true, Logger: e.Logger})
		if err != nil {
			return nil, err
		}
		db.cluster = c
		db.OwnerURL = c.URL("")
	}
	if migrate {
		if err := migrations.Up(ctx, db.OwnerURL, e.Logger); err != nil {
			db.Close()
			return nil, err
		}
	}
	pool, err := open(ctx, db.OwnerURL, maxConns)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database not reachable: %w", err)
	}
	db.Pool = pool
	return db, nil
}

// Sealer returns the credential sealer, with the key from
// BERGAMOT_SECRET_KEY or BERGAMOT_DATA/secret.key.
func (e *Env) Sealer() (*store.Sealer, error) {
	key, err := store.LoadOrCreateKey(e.SecretKey, filepath.Join(e.Data, "secret.key"))
	if err != nil {
		return nil, err
	}
	return store.NewSealer(key)
}
