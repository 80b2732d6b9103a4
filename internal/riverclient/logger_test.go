package riverclient

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRiverLoggerDropsInfo: River's periodic Info lines ("producer: Producer
// job counts") stay out of the log at Info level; its warnings get through,
// with their attributes; at Debug level everything passes.
func TestRiverLoggerDropsInfo(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := Logger(base).With("client", "c1")
	ctx := context.Background()
	l.InfoContext(ctx, "producer: Producer job counts")
	l.WarnContext(ctx, "elector: leadership lost")
	out := buf.String()
	if strings.Contains(out, "Producer job counts") {
		t.Errorf("River Info logged: %s", out)
	}
	if !strings.Contains(out, "leadership lost") || !strings.Contains(out, "client=c1") {
		t.Errorf("River warning missing: %q", out)
	}

	buf.Reset()
	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	Logger(debug).InfoContext(ctx, "producer: Producer job counts")
	if !strings.Contains(buf.String(), "Producer job counts") {
		t.Errorf("at debug level River's Info should pass: %q", buf.String())
	}
	if Logger(nil) != nil {
		t.Error("RiverLogger(nil) != nil")
	}
}
