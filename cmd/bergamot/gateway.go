package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/gateway/wire"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// newHub builds a serve node's worker gateway; its background loop joins g.
func newHub(ctx context.Context, env *Env, db *DB, sealer *store.Sealer, g *errgroup.Group) *gateway.Hub {
	log := env.Logger.With(slog.String("component", "gateway"))
	host, _ := os.Hostname()
	w := &jobs.ExecuteWorker{Pool: db.Pool, Sealer: sealer, Logger: log, SpecTTL: time.Minute}
	g.Go(w.FollowConfig(ctx))
	hub := &gateway.Hub{Store: &gateway.Store{Pool: db.Pool}, Pool: db.Pool, Logger: log, Worker: w,
		Node: fmt.Sprintf("%s/%s", host, uuid.NewString()[:8]), RescueAfter: envDuration("BERGAMOT_RESCUE_AFTER", 0)}
	g.Go(func() error { return hub.Run(ctx) })
	return hub
}

type remoteOptions struct {
	hubs, keyFile, caFile, engines, name string
	concurrency                          int
	metricsListen                        string
}

// runRemoteWorker is `bergamot worker --hub`: it takes jobs through a serve
// node's gateway and never touches PostgreSQL.
func runRemoteWorker(ctx context.Context, env *Env, o remoteOptions) error {
	log := env.Logger.With(slog.String("role", "worker"), slog.String("hub", o.hubs))
	raw, err := os.ReadFile(o.keyFile)
	if err != nil {
		return fmt.Errorf("reading the worker key: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	if key == "" {
		return fmt.Errorf("%s is empty; it must hold the key from createWorkerKey or bergamot zone key create", o.keyFile)
	}
	var hubs []string
	for _, u := range strings.Split(o.hubs, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return fmt.Errorf("--hub %q: want a ws:// or wss:// URL such as wss://bergamot.example/worker", u)
		}
		hubs = append(hubs, u)
	}
	var tlsConf *tls.Config
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return fmt.Errorf("reading --ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s holds no PEM certificate", o.caFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	reg, err := buildRegistry(log, o.engines, nil)
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name, _ = os.Hostname()
	}
	// The hub says which zone the key serves: a site's private zone runs on
	// the site's own machine and so is trusted; an operator's shared zone
	// keeps this worker's policy (hosted by default).
	var shared atomic.Bool
	shared.Store(true)
	if p := env.Policy; p != nil {
		p.SharedZone = func(string) bool { return shared.Load() }
		reg.SetPolicy(p)
	}
	metrics.Role(version, "worker")
	metrics.Engines(reg.Names())
	if err := serveMetrics(ctx, log, o.metricsListen); err != nil {
		return err
	}
	r := &gateway.Remote{Hubs: hubs, Key: key, TLS: tlsConf, Engines: reg, Name: name, Version: version,
		Concurrency: o.concurrency, Logger: log, OnWelcome: func(w *wire.Welcome) { shared.Store(w.Shared) }}
	log.InfoContext(ctx, "remote worker starting", slog.String("engines", strings.Join(reg.Names(), ",")), slog.Int("concurrency", o.concurrency))
	return r.Run(ctx)
}

// claimSharedZone makes a direct worker's zone an operator zone: direct
// workers are the operator's fleet.
func claimSharedZone(ctx context.Context, db *DB, zone string, log *slog.Logger) error {
	created, err := (&gateway.Store{Pool: db.Pool}).CreateSharedZone(ctx, zone)
	if err != nil {
		return err
	}
	if created {
		log.InfoContext(ctx, "zone is now an operator (shared) zone, as a direct worker serves it", slog.String("zone", zone))
	}
	return nil
}

const zoneUsage = `bergamot zone create --shared NAME                 name an operator zone (served for every site)
  bergamot zone list                                 list the operator zones
  bergamot zone key create --shared NAME [--name N]  create a key for a remote worker of an operator zone
  bergamot zone key revoke --shared ID               revoke such a key

  A site's own keys, for its private zones, through the API as one of its administrators:
  bergamot zone key create [--name N] ZONE           create a key for the site's private zone ZONE (printed once)
  bergamot zone key list                             list the site's keys (never the keys themselves)
  bergamot zone key revoke ID                        revoke one; its workers are disconnected at once
  These take --url URL (or BERGAMOT_URL; default http://localhost:8080) and --token-file FILE
  (or BERGAMOT_TOKEN): an administrator's API token.`

func cmdZone(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	sub := args[0]
	if sub == "key" {
		if len(args) < 2 {
			return errUsage
		}
		sub, args = "key "+args[1], args[1:]
	}
	fs := newFlags("zone "+sub, zoneUsage)
	shared := fs.String("shared", "", "the operator zone (a shared zone's key; without it, the site's own keys through the API)")
	keyName := fs.String("name", "", "a name for the key (default the zone's name)")
	apiURL := fs.String("url", "", "the Bergamot server, for a site's keys (default $BERGAMOT_URL, else http://localhost:8080)")
	tokenFile := fs.String("token-file", "", "a file holding an administrator's API token, for a site's keys (default $BERGAMOT_TOKEN)")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	if strings.HasPrefix(sub, "key ") && *shared == "" {
		return siteKeys(ctx, os.Stdout, os.Stderr, sub, fs.Args(), *keyName, *apiURL, *tokenFile)
	}
	db, err := env.OpenDB(ctx, true, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	st := &gateway.Store{Pool: db.Pool}
	switch sub {
	case "create":
		if *shared == "" || fs.NArg() != 0 {
			return fmt.Errorf("give the zone as --shared NAME: %w", errUsage)
		}
		created, err := st.CreateSharedZone(ctx, *shared)
		if err != nil {
			return err
		}
		if created {
			fmt.Printf("created operator zone %s\n", *shared)
		} else {
			fmt.Printf("operator zone %s already exists\n", *shared)
		}
		return nil
	case "list":
		zones, err := st.SharedZones(ctx)
		if err != nil {
			return err
		}
		for _, z := range zones {
			fmt.Println(z)
		}
		return nil
	case "key create":
		if *shared == "" {
			return fmt.Errorf("give the zone as --shared NAME: %w", errUsage)
		}
		name := *keyName
		if name == "" {
			name = *shared
		}
		k, err := st.CreateSharedKey(ctx, *shared, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "key %s for operator zone %s (shown once; store it in the worker's --key-file):\n", k.ID, k.Zone)
		fmt.Println(*k.Key)
		return nil
	case "key revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("give the key id: %w", errUsage)
		}
		id, err := uuid.Parse(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("key id %q: %w", fs.Arg(0), err)
		}
		ok, err := st.RevokeSharedKey(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("no such live key")
		}
		fmt.Printf("revoked key %s; its workers are disconnected now\n", id)
		return nil
	}
	return errUsage
}

// siteKeys runs `zone key create|list|revoke` for the site of the API token.
func siteKeys(ctx context.Context, out, info io.Writer, sub string, args []string, name, apiURL, tokenFile string) error {
	want := map[string]int{"key create": 1, "key list": 0, "key revoke": 1}
	n, ok := want[sub]
	if !ok {
		return errUsage
	}
	if len(args) != n {
		switch sub {
		case "key create":
			return fmt.Errorf("give the private zone: bergamot zone key create [--name N] ZONE (or --shared NAME for an operator zone): %w", errUsage)
		case "key revoke":
			return fmt.Errorf("give the key's id (bergamot zone key list shows them): %w", errUsage)
		}
		return errUsage
	}
	c, err := newAPIClient(apiURL, tokenFile)
	if err != nil {
		return err
	}
	switch sub {
	case "key create":
		return siteKeyCreate(ctx, c, out, info, args[0], cmp.Or(name, args[0]))
	case "key list":
		return siteKeyList(ctx, c, out, info)
	}
	return siteKeyRevoke(ctx, c, out, args[0])
}

// parseInterspersed parses flags given before or after the positional
// arguments (`zone key create dc1 --name a` as well as `--name a dc1`).
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
