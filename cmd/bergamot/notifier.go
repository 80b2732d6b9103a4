package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/metrics/export"
	"github.com/google/uuid"

	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/jobs"

	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/store"
)

// newDispatcher builds the notification dispatcher: ack links are signed
// with a key derived from the secret key, and point at
// BERGAMOT_PUBLIC_URL (e.g. https://bergamot.example.com).
func newDispatcher(env *Env, db *DB, sealer *store.Sealer) (*dispatch.Dispatcher, error) {
	key, err := store.LoadOrCreateKey(env.SecretKey, filepath.Join(env.Data, "secret.key"))
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("bergamot ack links v1"))
	return &dispatch.Dispatcher{Pool: db.Pool, Logger: env.Logger.With(slog.String("role", "notifier")), Sealer: sealer,
		Channels: dispatch.PolicyChannels(nil, env.Policy.Network()), AckKey: m.Sum(nil),
		BaseURL:   strings.TrimRight(os.Getenv("BERGAMOT_PUBLIC_URL"), "/"),
		RateLimit: envInt("BERGAMOT_NOTIFY_RATE_LIMIT"), RateWindow: envDuration("BERGAMOT_NOTIFY_RATE_WINDOW", 0),
		SendTimeout: envDuration("BERGAMOT_NOTIFY_SEND_TIMEOUT", 0), RescueAfter: envDuration("BERGAMOT_NOTIFY_RESCUE_AFTER", 0)}, nil
}

// runNotifier runs the notifier role (River workers on the notifications
// queue, plus the acknowledgement and escalation sweep) until ctx ends.
func runNotifier(ctx context.Context, env *Env, db *DB, g *errgroup.Group) error {
	sealer, err := env.Sealer()
	if err != nil {
		return err
	}
	d, err := newDispatcher(env, db, sealer)
	if err != nil {
		return fmt.Errorf("notifier: %w", err)
	}
	metrics.Channels(d.Channels.Names())
	g.Go(func() error { return d.Run(ctx) })
	// Metrics export: the sites' <metrics-export> targets, through the
	// same address policy as the notification channels.
	protocols := export.DefaultRegistry()
	metrics.ExportProtocols(protocols.Names())
	ex := &jobs.Exporter{Pool: db.Pool, Sealer: sealer, Protocols: protocols, Logger: env.Logger.With(slog.String("role", "notifier")),
		Sender:   &export.Sender{Client: env.Policy.Network().Client(), UserAgent: "Bergamot/" + version},
		OwnEvery: envDuration("BERGAMOT_EXPORT_OWN_EVERY", 30*time.Second)}
	g.Go(func() error { return ex.Run(ctx) })
	// Recorded so that internal checks (bergamot-internal-notifiers) can count it.
	pres := nodePresence(env, db, jobs.RoleNotifier, d.Channels.Names())
	g.Go(func() error { return pres.Run(ctx) })
	return nil
}

// nodePresence is the heartbeat of this process in one role (the nodes
// table, read by the internal engine).
func nodePresence(env *Env, db *DB, role string, capabilities []string) *jobs.NodePresence {
	host, _ := os.Hostname()
	id := uuid.New()
	return &jobs.NodePresence{Pool: db.Pool, ID: id, Role: role, Name: fmt.Sprintf("%s/%s", host, id.String()[:8]),
		Capabilities: capabilities, Version: version, Logger: env.Logger.With(slog.String("role", role))}
}

// withAckLinks serves /ack/ with ack and everything else with next.
func withAckLinks(ack, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ack/", ack)
	if next != nil {
		mux.Handle("/", next)
	}
	return mux
}
