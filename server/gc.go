package server

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// GC settings for API nodes (serve and run) unless GOGC or GOMEMLIMIT say
// otherwise. An API node's live heap is small next to what each request
// allocates (a page of 100 checks through gqlgen is ~1 MB of short-lived
// garbage), so with Go's default GOGC=100 the collector runs every few
// requests and its assists land on request goroutines: measured on the
// 2-core reference VM, a page of 100 checks went from p50 9.5 / p99 20 ms
// to p50 6.6 / p99 15 ms with GOGC=400. The soft memory limit keeps the
// larger heap target from growing past what a small VM can spare: above it
// the collector works harder instead.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

// TuneGC applies the API node's garbage-collector settings and returns
// those it applied, for the log (environment variables take precedence).
func TuneGC() []slog.Attr {
	var applied []slog.Attr
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		applied = append(applied, slog.Int("gogc", gcPercent))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
		applied = append(applied, slog.Int64("memory_limit_bytes", memoryLimit))
	}
	return applied
}
