package devnrpe

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/hostsetup"
)

// Paths of the Debian programs the daemon is made of.
const (
	// DaemonPath is Debian's NRPE daemon (package nagios-nrpe-server).
	DaemonPath = "/usr/sbin/nrpe"
	// PluginDir holds the monitoring-plugins the commands run.
	PluginDir = "/usr/lib/nagios/plugins"
	// DefaultPort is NRPE's standard port, used when it is free.
	DefaultPort = 5666
)

// Packages are the Debian packages the daemon and its commands need.
var Packages = []string{"nagios-nrpe-server", "monitoring-plugins-basic", "monitoring-plugins-standard"}

// ErrNoNRPE is returned when /usr/sbin/nrpe is missing and cannot be
// installed (not root, or Install not set).
var ErrNoNRPE = errors.New("the NRPE daemon " + DaemonPath + " is not installed (Debian: apt-get install nagios-nrpe-server monitoring-plugins)")

//go:embed check_mem.sh
var checkMemScript []byte

// Options configure a daemon.
type Options struct {
	// Dir holds nrpe.cfg, nrpe.log, nrpe.pid, the port file and check_mem.
	Dir string
	// Port to listen on (127.0.0.1). 0 means: the port saved in Dir/port by
	// an earlier start if it is free, else 5666 if free, else any free port.
	// The port chosen is saved in Dir/port.
	Port int
	// Install allows `apt-get install` of Packages when the daemon is
	// missing and we are root.
	Install bool
	// Commands are the daemon's command[name]=command-line entries; nil
	// means DefaultCommands(Dir).
	Commands map[string]string
	// Logger receives progress messages.
	Logger *slog.Logger
}

// Daemon is a running private NRPE daemon.
type Daemon struct {
	dir, cfgPath string
	port         int
	cmd          *exec.Cmd
	done         chan struct{} // closed when the daemon has exited, with waitErr set
	waitErr      error         // how it exited (cmd.Wait's error)
	log          *slog.Logger
}

// DefaultCommands are the NRPE commands of the stock linux-server-nrpe
// template (memory, load, users, zombie and total processes, disk space of
// /, local NTP offset), with thresholds for a demo machine.
func DefaultCommands(dir string) map[string]string {
	p := func(s string) string { return PluginDir + "/" + s }
	return map[string]string{
		"check_mem":              filepath.Join(dir, "check_mem") + " -w 90 -c 95",
		"check_load":             p("check_load") + " -r -w 3,2.5,2 -c 6,5,4",
		"check_users":            p("check_users") + " -w 5 -c 10",
		"check_zombie_procs":     p("check_procs") + " -w 5 -c 10 -s Z",
		"check_total_procs":      p("check_procs") + " -w 500 -c 1000",
		"check_disk_space_root":  p("check_disk") + " -w 10% -c 5% -p /",
		"check_local_ntp_offset": p("check_ntp_time") + " -H 127.0.0.1 -w 0.5 -c 1 -t 5",
	}
}

// Start writes the configuration and starts the daemon, waiting until it
// listens. Daemons left over from an earlier run with the same directory
// (after a crash) are stopped first.
func Start(ctx context.Context, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("devnrpe: %w", err)
	}
	if err := ensureInstalled(ctx, opts.Install, log); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devnrpe: %w", err)
	}
	// The daemon runs as the nagios user when we are root: it must read
	// the configuration and run check_mem.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devnrpe: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := checkTraversable(dir); err != nil {
			return nil, err
		}
	}
	d := &Daemon{dir: dir, cfgPath: filepath.Join(dir, "nrpe.cfg"), log: log}
	killProcesses(d.cfgPath)
	// A killed daemon's pid file would make nrpe bail out while the old
	// process is not yet reaped.
	_ = os.Remove(filepath.Join(dir, "nrpe.pid"))
	if d.port, err = choosePort(ctx, dir, opts.Port, log); err != nil {
		return nil, err
	}
	cmds := opts.Commands
	if cmds == nil {
		cmds = DefaultCommands(dir)
	}
	if err := d.writeFiles(cmds); err != nil {
		return nil, err
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "private NRPE daemon listening", slog.String("addr", d.Addr()), slog.String("config", d.cfgPath))
	return d, nil
}

// Port is the TCP port the daemon listens on (on 127.0.0.1).
func (d *Daemon) Port() int { return d.port }

// Addr is the daemon's address, 127.0.0.1:port.
func (d *Daemon) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port)) }

// Dir is the daemon's directory.
func (d *Daemon) Dir() string { return d.dir }

// Stop ends the daemon and the connection children it forked, waiting for
// the daemon to exit (SIGTERM, then SIGKILL after 5 s or when ctx ends).
func (d *Daemon) Stop(ctx context.Context) error {
	if d == nil || d.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	var err error
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		err = errors.New("devnrpe: nrpe did not stop within 5s; killed")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
	killProcesses(d.cfgPath)
	_ = os.Remove(filepath.Join(d.dir, "nrpe.pid"))
	return err
}

func ensureInstalled(ctx context.Context, install bool, log *slog.Logger) error {
	if isExec(DaemonPath) {
		return nil
	}
	if !install || os.Geteuid() != 0 {
		return ErrNoNRPE
	}
	log.InfoContext(ctx, "NRPE daemon not found; installing it with apt-get (once)", slog.String("packages", strings.Join(Packages, " ")))
	if err := hostsetup.AptInstall(ctx, Packages...); err != nil {
		return fmt.Errorf("devnrpe: %w", err)
	}
	if !isExec(DaemonPath) {
		return ErrNoNRPE
	}
	return nil
}

// choosePort picks the port (see Options.Port) and saves it in dir/port.
func choosePort(ctx context.Context, dir string, want int, log *slog.Logger) (int, error) {
	portFile := filepath.Join(dir, "port")
	if want == 0 {
		if b, err := os.ReadFile(portFile); err == nil {
			saved, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			switch {
			case saved > 0 && portFree(ctx, saved):
				want = saved
			case saved > 0:
				log.Warn("the private NRPE daemon's saved port is taken; choosing another (checks configured for the old port will fail)",
					slog.Int("port", saved))
			}
		}
	}
	if want == 0 && portFree(ctx, DefaultPort) {
		want = DefaultPort
	}
	if want == 0 {
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("devnrpe: finding a free port: %w", err)
		}
		want = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	if err := os.WriteFile(portFile, []byte(strconv.Itoa(want)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("devnrpe: %w", err)
	}
	return want, nil
}

func portFree(ctx context.Context, port int) bool {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// writeFiles writes check_mem and nrpe.cfg.
func (d *Daemon) writeFiles(cmds map[string]string) error {
	if err := os.WriteFile(filepath.Join(d.dir, "check_mem"), checkMemScript, 0o755); err != nil {
		return fmt.Errorf("devnrpe: %w", err)
	}
	var cfg strings.Builder
	cfg.WriteString("# Written by bergamot run (internal/devnrpe) on every start: edits are lost.\n")
	fmt.Fprintf(&cfg, "pid_file=%s\nserver_port=%d\nserver_address=127.0.0.1\nallowed_hosts=127.0.0.1\n", filepath.Join(d.dir, "nrpe.pid"), d.port)
	if os.Geteuid() == 0 {
		cfg.WriteString("nrpe_user=nagios\nnrpe_group=nagios\n")
	}
	fmt.Fprintf(&cfg, "dont_blame_nrpe=0\nallow_bash_command_substitution=0\ncommand_timeout=30\nconnection_timeout=60\n"+
		"disable_syslog=1\nlog_file=%s\ndebug=0\n", filepath.Join(d.dir, "nrpe.log"))
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.ContainsAny(n, "[]=\n") || strings.Contains(cmds[n], "\n") {
			return fmt.Errorf("devnrpe: command %q: name or command line has a forbidden character", n)
		}
		fmt.Fprintf(&cfg, "command[%s]=%s\n", n, cmds[n])
	}
	if err := os.WriteFile(d.cfgPath, []byte(cfg.String()), 0o644); err != nil {
		return fmt.Errorf("devnrpe: %w", err)
	}
	return nil
}

// start runs `nrpe -c nrpe.cfg -f` in its own process group and waits
// until it accepts connections.
func (d *Daemon) start(ctx context.Context) error {
	logPath := filepath.Join(d.dir, "nrpe.log")
	// A log the nagios user can append to; readiness is its "Listening"
	// line after what earlier runs wrote.
	var logStart int64
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666); err == nil {
		_ = f.Chmod(0o666)
		if fi, err := f.Stat(); err == nil {
			logStart = fi.Size()
		}
		f.Close()
	}
	var out bytes.Buffer
	// The daemon outlives ctx (which bounds only the start-up): Stop ends it.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), DaemonPath, "-c", d.cfgPath, "-f")
	cmd.Stdout, cmd.Stderr = &out, &out
	// Own process group: Stop ends the daemon and its children together,
	// after Bergamot's own work has stopped.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("devnrpe: starting %s: %w", DaemonPath, err)
	}
	d.cmd = cmd
	d.done = make(chan struct{})
	go func() { d.waitErr = cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if logb, _ := os.ReadFile(logPath); int64(len(logb)) >= logStart &&
			bytes.Contains(logb[logStart:], []byte("Listening for connections on port "+strconv.Itoa(d.port))) {
			return nil
		}
		select {
		case <-d.done:
			logText, _ := os.ReadFile(logPath)
			d.cmd = nil
			return fmt.Errorf("devnrpe: nrpe exited during start-up (%w): %s%s", d.waitErr, out.String(), lastLines(logText, 5))
		case <-ctx.Done():
			_ = d.Stop(context.Background())
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = d.Stop(context.Background())
			return fmt.Errorf("devnrpe: nrpe did not listen on %s within 15s; see %s", d.Addr(), logPath)
		}
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// killProcesses ends every process whose command line names cfgPath: the
// daemon of an earlier run that crashed, or the per-connection children
// that outlive a stopped daemon while their plugin runs.
func killProcesses(cfgPath string) {
	needle := []byte("\x00" + cfgPath + "\x00")
	for range 50 {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.HasPrefix(cmdline, []byte(DaemonPath+"\x00")) && bytes.Contains(cmdline, needle) {
				found = true
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !found {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkTraversable makes sure the nagios user the daemon runs as (when we
// are root) can reach dir to run check_mem: every parent must be searchable
// by others.
func checkTraversable(dir string) error {
	p, mode, err := hostsetup.BlockedParent(dir)
	if err != nil {
		return fmt.Errorf("devnrpe: %w", err)
	}
	if p != "" {
		return fmt.Errorf("devnrpe: the nagios user cannot reach %s because %s is not searchable by others (mode %v); set BERGAMOT_DATA to a directory outside it", dir, p, mode)
	}
	return nil
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
