// Package hostsetup holds what the private helper daemons (the PostgreSQL
// cluster of internal/devdb, the NRPE daemon of internal/devnrpe) need from
// the machine: Debian packages installed without starting their system
// services, and data directories their service users can reach.
package hostsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// policyRC is Debian's hook that decides whether package scripts may start
// daemons; exit 101 refuses, so installing postgresql or nagios-nrpe-server
// does not start the system's own cluster or daemon.
const policyRC = "/usr/sbin/policy-rc.d"

// AptInstall installs Debian packages with apt-get (as root) without
// starting their daemons, as scripts/ensure-packages does. apt's output goes
// to stderr so a long first install shows its progress.
func AptInstall(ctx context.Context, pkgs ...string) (err error) {
	if _, err := os.Stat(policyRC); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policyRC, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", policyRC, err)
		}
		defer func() {
			// Left behind, it would keep every daemon installed later from starting.
			if rerr := os.Remove(policyRC); rerr != nil && err == nil {
				err = fmt.Errorf("removing %s: %w", policyRC, rerr)
			}
		}()
	}
	upd := exec.CommandContext(ctx, "apt-get", "update", "-q")
	upd.Stdout, upd.Stderr = os.Stderr, os.Stderr
	_ = upd.Run() // a stale index may still do; install says what failed
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}

// BlockedParent returns the first parent directory of dir that other users
// cannot search (so a service user such as postgres or nagios cannot reach
// dir), with its mode; blocked is "" when every parent is searchable.
func BlockedParent(dir string) (blocked string, mode os.FileMode, err error) {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return "", 0, err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return p, fi.Mode().Perm(), nil
		}
		if p == "/" || p == "." {
			return "", 0, nil
		}
	}
}
