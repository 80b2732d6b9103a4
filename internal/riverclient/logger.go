// Package riverclient holds what every River client of Bergamot shares
// (the scheduler's and serve nodes' insert-only client, the workers', the
// notifier's): the logger filter, the reindexer setting, the insert-only
// client.
package riverclient

import (
	"context"
	"log/slog"
)

// Logger returns the logger to give River: log's handler with River's
// routine Info and Debug records (e.g. "producer: Producer job counts" every
// few seconds per client) dropped, keeping Warn and above. When log is at
// Debug level (BERGAMOT_DEBUG), River's records all pass. A nil log stays nil.
func Logger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return nil
	}
	h := log.Handler()
	if h.Enabled(context.Background(), slog.LevelDebug) {
		return log
	}
	return slog.New(minLevelHandler{h: h, min: slog.LevelWarn})
}

// minLevelHandler passes records at min or above to h.
type minLevelHandler struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}

func (m minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < m.min {
		return nil
	}
	return m.h.Handle(ctx, r)
}

func (m minLevelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevelHandler{h: m.h.WithAttrs(as), min: m.min}
}

func (m minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{h: m.h.WithGroup(name), min: m.min}
}
