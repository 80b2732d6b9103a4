package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// startBenchGateway runs the bench's worker side through the gateway: a hub
// on a loopback HTTP listener and one remote worker (in this process, over a
// real WebSocket) holding an operator key for the zone default. It returns
// a function that stops both.
func startBenchGateway(ctx context.Context, log *slog.Logger, db *DB, sealer *store.Sealer, reg *checks.Registry, o benchOptions) (func(), error) {
	st := &gateway.Store{Pool: db.Pool}
	key, err := st.CreateSharedKey(ctx, "default", "bench")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	hub := &gateway.Hub{Store: st, Pool: db.Pool, Logger: log, Node: "bench", FetchCooldown: o.cooldown,
		MaxInFlight: 2 * o.concurrency,
		Worker:      &jobs.ExecuteWorker{Pool: db.Pool, Sealer: sealer, Logger: log, SpecTTL: time.Minute}}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /worker", hub)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{}, 3)
	go func() { _ = srv.Serve(ln); done <- struct{}{} }()
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	remote := &gateway.Remote{Hubs: []string{fmt.Sprintf("ws://%s/worker", ln.Addr())}, Key: *key.Key, Engines: reg,
		Name: "bench-remote", Version: version, Concurrency: o.concurrency, Logger: log}
	go func() {
		if err := remote.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("bench remote worker", slog.Any("error", err))
		}
		done <- struct{}{}
	}()
	return func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
		for range 3 {
			<-done
		}
		_, _ = db.Pool.Exec(sctx, `DELETE FROM shared_zone_keys WHERE id = $1`, key.ID)
	}, nil
}
