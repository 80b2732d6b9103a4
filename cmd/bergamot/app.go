package main

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// app is the wiring of a serve node's HTTP side.
type app struct {
	graphql    http.Handler
	rest       http.Handler
	frontend   http.Handler
	sinks      []jobs.EventSink
	background []func(ctx context.Context) error
}

func newApp(ctx context.Context, env *Env, db *DB, rc *river.Client[pgx.Tx], sealer *store.Sealer, o serveOptions) (*app, error) {
	return &app{}, nil
}

// validators are the checks beyond package config applied to every configuration.
func validators() []store.Validator {
	return []store.Validator{validateConditions}
}

func validateConditions(m *config.Model) config.ErrorList { return nil }
