// Command bergamot is Bergamot's one binary: every role and admin task is a
// subcommand. Run `bergamot help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/term"
	_ "time/tzdata" // time zones for time periods on any machine
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, env *Env, args []string) error
}

// errUsage makes main print the command's usage.
var errUsage = errors.New("usage")

func commands() []*command {
	return []*command{
		{name: "run", summary: "run everything on this machine (embedded PostgreSQL unless DATABASE_URL is set)", usage: "bergamot run [--listen :8080] [--demo=true]\n\n  Keeps its database in $BERGAMOT_DATA/postgres (default ./.bergamot); on first start it creates\n  the site \"demo\" and prints its admin login, also saved in $BERGAMOT_DATA/demo-admin.txt.", run: cmdRun},
		{name: "serve", summary: "HTTP API, dashboard, scheduler and result processing", usage: "bergamot serve [--listen :8080] [--signup open|invite|closed] [--tls auto|acme|files|off] [--tls-cert F --tls-key F]\n  [--tls-names N,...] [--acme-directory URL] [--trusted-proxy CIDR] [--http-listen :80]\n\n  HTTPS by default on a non-loopback address (self-signed unless ACME or files are set up); docs/accounts.md.", run: cmdServe},
		{name: "worker", summary: "execute checks queued for one zone (direct, or remote through a gateway)", usage: "bergamot worker [--zone default] [--engines nagios,http,...] [--concurrency 100]          direct: needs DATABASE_URL\n  bergamot worker --hub wss://HOST/worker[,URL...] --key-file FILE [--ca-file FILE]   remote: no database\n\n  --metrics-listen ADDR (env BERGAMOT_METRICS_LISTEN) serves Prometheus metrics at http://ADDR/metrics.", run: cmdWorker},
		{name: "notifier", summary: "deliver notifications", usage: "bergamot notifier [--metrics-listen ADDR]", run: cmdNotifier},
		{name: "agent", summary: "host agent: dials out to a hub and runs its host's checks; enrol, cert, revoke", usage: agentUsage, run: cmdAgent},
		{name: "agent-manager", summary: "certificate authority for agents (init, serve)", usage: agentManagerUsage, run: cmdAgentManager},
		{name: "migrate", summary: "apply database migrations (Bergamot's and River's)", usage: "bergamot migrate", run: cmdMigrate},
		{name: "config", summary: "validate, apply or export Bergamot XML configuration", usage: "bergamot config validate FILE|DIR...                       check files on their own\n  bergamot config apply --site SITE [--dry-run] FILE|DIR...  merge files onto a site's configuration\n  bergamot config export --site SITE                         print a site's whole configuration\n\n  To delete an object with apply, give it state=\"absent\"; `bergamot COMMAND SUBCOMMAND --help` lists flags.", run: cmdConfig},
		{name: "import", summary: "import Nagios object configuration", usage: "bergamot import nagios [--site SITE] [--xml OUT] nagios.cfg|FILE|DIR...\n\n  Give --xml OUT (- for standard output) to write Bergamot XML, --site SITE to apply it, or both.\n  On Debian, the plugin commands (check_ping, check_http, ...) are in /etc/nagios-plugins/config:\n  give that directory too, or the nagios.cfg that includes it.", run: cmdImport},
		{name: "zone", summary: "operator zones and their remote-worker keys", usage: zoneUsage, run: cmdZone},
		{name: "site", summary: "create, list, disable, export and delete sites; signup invitations; SQL reporting logins; per-site limits", usage: siteUsage, run: cmdSite},
		{name: "user", summary: "a site's members: create, list, disable, enable, remove, require-password-change, reset-second-factors, sign-out", usage: userUsage, run: cmdUser},
		{name: "token", summary: "a site's API tokens: create, list (last use, expiry), revoke", usage: tokenUsage, run: cmdToken},
		{name: "ssh", summary: "forget an SSH host key a site trusted on first use", usage: "bergamot ssh forget-host-key --site SITE HOST:PORT", run: cmdSSH},
		{name: "bench", summary: "measure end-to-end throughput on this machine", usage: "bergamot bench [--checks 10000] [--duration 60s]", run: cmdBench},
	}
}

// usage prints the commands; a write error (a closed terminal) has nowhere
// to be reported.
func usage(w io.Writer) {
	_, _ = fmt.Fprintf(w, "Bergamot: distributed monitoring, compatible with Nagios plugins.\n\nUsage: bergamot [--log-format text|json] COMMAND [flags]\n\nCommands:\n")
	cmds := commands()
	sort.SliceStable(cmds, func(i, j int) bool { return false })
	for _, c := range cmds {
		_, _ = fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	_, _ = fmt.Fprintf(w, "\nEnvironment: DATABASE_URL, BERGAMOT_DATA (./.bergamot), BERGAMOT_LISTEN (:8080), BERGAMOT_ZONE (default),\nBERGAMOT_LOG_LEVEL (debug|info|warn|error; default info for run/serve/worker/notifier, warn for admin commands), BERGAMOT_DEBUG.\nRun `bergamot COMMAND --help` for a command's flags.\n")
}

func main() {
	args := os.Args[1:]
	logFormat := ""
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		switch {
		case a == "--log-format" && len(args) > 1:
			logFormat, args = args[1], args[2:]
		case strings.HasPrefix(a, "--log-format="):
			logFormat, args = strings.TrimPrefix(a, "--log-format="), args[1:]
		case a == "-h" || a == "--help" || a == "-help":
			usage(os.Stdout)
			return
		default:
			fmt.Fprintf(os.Stderr, "bergamot: unknown flag %s\n\n", a)
			usage(os.Stderr)
			os.Exit(2)
		}
	}
	if len(args) == 0 || args[0] == "help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					commandHelp(os.Stdout, c)
					return
				}
			}
			fmt.Fprintf(os.Stderr, "bergamot help: unknown command %q\n\n", args[1])
			usage(os.Stderr)
			os.Exit(2)
		}
		usage(os.Stdout)
		if len(args) == 0 {
			os.Exit(2)
		}
		return
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(os.Stderr, "bergamot: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		os.Exit(2)
	}
	if len(args) == 2 && isHelpFlag(args[1]) && !hasOwnFlags(cmd.name) {
		// Commands with subcommands (config, site, ...) have no flags of their own.
		commandHelp(os.Stdout, cmd)
		return
	}
	level, err := logLevel(cmd.name, os.Getenv("BERGAMOT_LOG_LEVEL"), os.Getenv("BERGAMOT_DEBUG") != "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bergamot: %v\n", err)
		os.Exit(2)
	}
	logger := newLogger(logFormat, level)
	slog.SetDefault(logger)
	if code := runCommand(cmd, logger, args[1:]); code != 0 {
		os.Exit(code)
	}
}

// runCommand runs cmd with a context that SIGINT and SIGTERM end, reports
// its error, and returns the exit status: 0, 1 for a failure, 2 for a usage
// error.
func runCommand(cmd *command, logger *slog.Logger, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := LoadEnv(logger)
	err := cmd.run(ctx, env, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		// A wrapped errUsage carries a message ("...: usage") worth printing.
		if msg, wrapped := strings.CutSuffix(err.Error(), ": "+errUsage.Error()); wrapped {
			fmt.Fprintf(os.Stderr, "bergamot %s: %s\n\n", cmd.name, msg)
		}
		fmt.Fprintf(os.Stderr, "Usage:\n  %s\n", cmd.usage)
		return 2
	case err != nil:
		fmt.Fprintf(os.Stderr, "bergamot %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// commandHelp prints a command's summary and usage (write errors: see usage).
func commandHelp(w io.Writer, c *command) {
	_, _ = fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s\n", c.name, c.summary, c.usage)
}

func isHelpFlag(a string) bool {
	return a == "-h" || a == "-help" || a == "--help" || a == "help"
}

// hasOwnFlags says whether a command parses flags itself (its --help lists them).
func hasOwnFlags(name string) bool {
	switch name {
	case "run", "serve", "worker", "notifier", "migrate", "bench":
		return true
	}
	return false
}

// logLevel is the log level of a command: BERGAMOT_LOG_LEVEL when set
// (debug, info, warn or error), else debug with BERGAMOT_DEBUG, else info for
// the long-running services and warn for admin commands, whose output would
// otherwise start with start-up chatter ("adopting PostgreSQL", "schema migrated").
func logLevel(cmd, env string, debug bool) (slog.Level, error) {
	if env != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(env)); err != nil {
			return 0, fmt.Errorf("BERGAMOT_LOG_LEVEL=%q: want debug, info, warn or error", env)
		}
		return l, nil
	}
	if debug {
		return slog.LevelDebug, nil
	}
	switch cmd {
	case "run", "serve", "worker", "notifier", "migrate", "bench", "agent", "agent-manager":
		return slog.LevelInfo, nil
	}
	return slog.LevelWarn, nil
}

func newLogger(format string, level slog.Level) *slog.Logger {
	if format == "" {
		format = "json"
		if term.IsTerminal(int(os.Stderr.Fd())) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// newFlags makes a flag set whose -h prints the command's usage.
func newFlags(name, usageText string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() { // write errors: see usage
		_, _ = fmt.Fprintf(fs.Output(), "Usage:\n  %s\n", usageText)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			_, _ = fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}
