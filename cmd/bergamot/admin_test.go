package main

import (
	"log/slog"
	"os/user"
	"strings"
	"testing"
)

// TestCurrentUserWithoutUSER: revisions made where USER is unset (cron,
// systemd, docker exec) are authored by the account, not "unknown".
func TestCurrentUserWithoutUSER(t *testing.T) {
	t.Setenv("USER", "")
	t.Setenv("SUDO_USER", "")
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	if got := currentUser(); got != u.Username || got == "unknown" {
		t.Errorf("currentUser() = %q, want %q", got, u.Username)
	}
	t.Setenv("USER", "alice")
	if got := currentUser(); got != "alice" {
		t.Errorf("currentUser() with USER=alice = %q", got)
	}
}

func TestApplySummary(t *testing.T) {
	for _, c := range []struct {
		dry              bool
		add, chg, rm     int
		want, wantAbsent string
	}{
		{false, 0, 0, 0, "no changes: site demo already has this configuration", "0 added"},
		{true, 0, 0, 0, "no changes (dry run): site demo already has this configuration", "0 added"},
		{false, 1, 2, 0, "applied to site demo: 1 added, 2 changed, 0 removed", "no changes"},
		{true, 0, 1, 0, "would apply to site demo (dry run, nothing changed): 0 added, 1 changed, 0 removed", "no changes"},
	} {
		got := applySummary("demo", c.dry, c.add, c.chg, c.rm)
		if got != c.want || strings.Contains(got, c.wantAbsent) {
			t.Errorf("applySummary(dry=%v, %d/%d/%d) = %q, want %q", c.dry, c.add, c.chg, c.rm, got, c.want)
		}
	}
}

// TestLogLevel: admin commands are quiet (warnings only) unless asked;
// services log at info.
func TestLogLevel(t *testing.T) {
	for _, c := range []struct {
		cmd, env string
		debug    bool
		want     slog.Level
	}{
		{"config", "", false, slog.LevelWarn},
		{"import", "", false, slog.LevelWarn},
		{"site", "", false, slog.LevelWarn},
		{"run", "", false, slog.LevelInfo},
		{"serve", "", false, slog.LevelInfo},
		{"worker", "", false, slog.LevelInfo},
		{"config", "", true, slog.LevelDebug},
		{"config", "info", false, slog.LevelInfo},
		{"run", "error", true, slog.LevelError},
	} {
		got, err := logLevel(c.cmd, c.env, c.debug)
		if err != nil || got != c.want {
			t.Errorf("logLevel(%q, %q, %v) = %v, %v; want %v", c.cmd, c.env, c.debug, got, err, c.want)
		}
	}
	if _, err := logLevel("run", "loud", false); err == nil || !strings.Contains(err.Error(), "BERGAMOT_LOG_LEVEL") {
		t.Errorf("bad level: err = %v", err)
	}
}
