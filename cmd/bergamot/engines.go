package main

import (
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dns"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	httpcheck "github.com/bergamot-monitoring/bergamot/checks/http"
	"github.com/bergamot-monitoring/bergamot/checks/icmp"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/checks/nrpe"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/checks/snmp"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
	"github.com/bergamot-monitoring/bergamot/checks/udp"
)

// engineConstructors is every engine this binary has, by name: adding an
// engine is one line here plus its package.
var engineConstructors = map[string]func(log *slog.Logger) checks.Engine{
	"nagios": func(l *slog.Logger) checks.Engine { return nagios.New(nagios.Options{Logger: l}) },
	"dummy":  func(l *slog.Logger) checks.Engine { return dummy.New(dummy.Options{Logger: l}) },
	"http": func(l *slog.Logger) checks.Engine {
		return httpcheck.New(httpcheck.Options{Logger: l, Script: script.New(script.Options{Logger: l})})
	},
	"tcp":    func(l *slog.Logger) checks.Engine { return tcp.New(tcp.Options{Logger: l}) },
	"udp":    func(l *slog.Logger) checks.Engine { return udp.New(udp.Options{Logger: l}) },
	"dns":    func(l *slog.Logger) checks.Engine { return dns.New(dns.Options{Logger: l}) },
	"nrpe":   func(l *slog.Logger) checks.Engine { return nrpe.New(nrpe.Options{Logger: l}) },
	"script": func(l *slog.Logger) checks.Engine { return script.New(script.Options{Logger: l}) },
	"snmp": func(l *slog.Logger) checks.Engine {
		return snmp.New(snmp.Options{Logger: l, Script: script.New(script.Options{Logger: l})})
	},
	"icmp": func(l *slog.Logger) checks.Engine {
		return icmp.New(icmp.Options{Logger: l, Privileged: os.Geteuid() == 0})
	},
}

// buildRegistry registers the engines named in only (all when empty).
func buildRegistry(log *slog.Logger, only string) (*checks.Registry, error) {
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
		reg.Register(engineConstructors[n](log.With(slog.String("engine", n))))
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
