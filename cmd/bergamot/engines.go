package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dns"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	httpcheck "github.com/bergamot-monitoring/bergamot/checks/http"
	"github.com/bergamot-monitoring/bergamot/checks/icmp"
	"github.com/bergamot-monitoring/bergamot/checks/jdbc"
	"github.com/bergamot-monitoring/bergamot/checks/jmx"
	"github.com/bergamot-monitoring/bergamot/checks/libvirt"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/checks/nrpe"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/checks/self"
	"github.com/bergamot-monitoring/bergamot/checks/snmp"
	sshcheck "github.com/bergamot-monitoring/bergamot/checks/ssh"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
	"github.com/bergamot-monitoring/bergamot/checks/udp"
)

// engineConstructors is every engine this binary has, by name: adding an
// engine is one line here plus its package. A constructor returns nil when
// the engine cannot run in this process (its environment lacks what it
// needs); the engine is then not registered, so the worker does not offer it.
var engineConstructors = map[string]func(l *slog.Logger, env *engineEnv) checks.Engine{
	"nagios": func(l *slog.Logger, _ *engineEnv) checks.Engine { return nagios.New(nagios.Options{Logger: l}) },
	"dummy":  func(l *slog.Logger, _ *engineEnv) checks.Engine { return dummy.New(dummy.Options{Logger: l}) },
	"http": func(l *slog.Logger, _ *engineEnv) checks.Engine {
		return httpcheck.New(httpcheck.Options{Logger: l, Script: script.New(script.Options{Logger: l})})
	},
	"tcp":    func(l *slog.Logger, _ *engineEnv) checks.Engine { return tcp.New(tcp.Options{Logger: l}) },
	"udp":    func(l *slog.Logger, _ *engineEnv) checks.Engine { return udp.New(udp.Options{Logger: l}) },
	"dns":    func(l *slog.Logger, _ *engineEnv) checks.Engine { return dns.New(dns.Options{Logger: l}) },
	"nrpe":   func(l *slog.Logger, _ *engineEnv) checks.Engine { return nrpe.New(nrpe.Options{Logger: l}) },
	"script": func(l *slog.Logger, _ *engineEnv) checks.Engine { return script.New(script.Options{Logger: l}) },
	"snmp": func(l *slog.Logger, _ *engineEnv) checks.Engine {
		return snmp.New(snmp.Options{Logger: l, Script: script.New(script.Options{Logger: l})})
	},
	"icmp": func(l *slog.Logger, _ *engineEnv) checks.Engine {
		return icmp.New(icmp.Options{Logger: l, Privileged: os.Geteuid() == 0})
	},
	"ssh": func(l *slog.Logger, env *engineEnv) checks.Engine { return env.ssh(l) },
	"jdbc": func(l *slog.Logger, env *engineEnv) checks.Engine {
		return jdbc.New(jdbc.Options{Logger: l, Dial: env.Dial, Script: script.New(script.Options{Logger: l})})
	},
	"sftp": func(l *slog.Logger, env *engineEnv) checks.Engine { return env.ssh(l).SFTP() },
	"jmx": func(l *slog.Logger, env *engineEnv) checks.Engine {
		return jmx.New(jmx.Options{Logger: l, Dial: env.Dial, Script: script.New(script.Options{Logger: l})})
	},
	"libvirt": func(l *slog.Logger, env *engineEnv) checks.Engine {
		return libvirt.New(libvirt.Options{Logger: l, Dial: env.Dial})
	},
	// internal is Bergamot checking itself: only where the installation's
	// registrations can be read (a worker connected to the database).
	"internal": func(l *slog.Logger, env *engineEnv) checks.Engine {
		if env.Self == nil {
			return nil
		}
		return self.New(self.Options{Logger: l, Source: env.Self})
	},
}

// engineEnv is what engines may take from the process that runs them: the
// site's SSH host-key records (the database on a direct worker, memory
// elsewhere) and the dialer outbound connections go through (where an
// execution policy plugs in; nil is a plain net.Dialer). Engines that share
// state (ssh and sftp share connections) are made once per registry.
type engineEnv struct {
	KnownHosts sshcheck.KnownHosts
	// Self is what the internal engine reads (nil: no internal engine).
	Self self.Source
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	sshEngine *sshcheck.Engine
}

func (env *engineEnv) ssh(l *slog.Logger) *sshcheck.Engine {
	if env.sshEngine == nil {
		env.sshEngine = sshcheck.New(sshcheck.Options{Logger: l, KnownHosts: env.KnownHosts, Dial: env.Dial,
			Script: script.New(script.Options{Logger: l})})
	}
	return env.sshEngine
}

// buildRegistry registers the engines named in only (all when empty); env
// may be nil.
func buildRegistry(log *slog.Logger, only string, env *engineEnv) (*checks.Registry, error) {
	if env == nil {
		env = &engineEnv{}
	}
	reg := checks.NewRegistry()
	names := make([]string, 0, len(engineConstructors))
	for n := range engineConstructors {
		names = append(names, n)
	}
	sort.Strings(names)
	if only != "" {
		names = nil
		for _, n := range strings.Split(only, ",") {
			n = strings.TrimSpace(n)
			if _, ok := engineConstructors[n]; !ok {
				return nil, fmt.Errorf("unknown engine %q (this binary has: %s)", n, strings.Join(allEngines(), ", "))
			}
			names = append(names, n)
		}
	}
	for _, n := range names {
		e := engineConstructors[n](log.With(slog.String("engine", n)), env)
		if e == nil {
			if only != "" {
				return nil, fmt.Errorf("engine %q cannot run in this process (the internal engine runs only on a worker connected to the database: bergamot run or bergamot worker without --hub)", n)
			}
			continue
		}
		reg.Register(e)
	}
	return reg, nil
}

func allEngines() []string {
	out := make([]string, 0, len(engineConstructors))
	for n := range engineConstructors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
