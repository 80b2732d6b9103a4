package devnrpe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// policyRC is Debian's hook that decides whether package scripts may start
// daemons; exit 101 refuses, so installing nagios-nrpe-server does not start
// the system daemon on port 5666.
const policyRC = "/usr/sbin/policy-rc.d"

// aptInstall installs Debian packages without starting their daemons, as
// scripts/ensure-packages does.
func aptInstall(ctx context.Context, pkgs ...string) error {
	if _, err := os.Stat(policyRC); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policyRC, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", policyRC, err)
		}
		defer os.Remove(policyRC)
	}
	upd := exec.CommandContext(ctx, "apt-get", "update", "-q")
	upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
	_ = upd.Run()
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}
