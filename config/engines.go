package config

import (
	"fmt"
	"slices"
	"strings"
)

// Engines are the check engines the bergamot binary registers
// (cmd/bergamot's engineConstructors; a test there keeps the two equal),
// plus "passive" for checks that are never run but receive results, and
// "agent", whose checks the agent hubs send to host agents. A
// check whose command names another engine validates, with a warning: no
// worker can run it, so it would only fail at run time.
var Engines = []string{"agent", "dns", "dummy", "http", "icmp", "jdbc", "jmx", "libvirt", "nagios", "nrpe", "passive", "script", "sftp", "snmp", "ssh", "tcp", "udp"}

// warnUnknownEngines adds one warning per engine that concrete checks use
// but no worker of this binary offers, at the first command naming it.
func warnUnknownEngines(m *Model) {
	type use struct {
		checks   int
		commands []string
	}
	uses := map[string]*use{}
	var visit func(c *Check)
	visit = func(c *Check) {
		if b := c.Command; b != nil && b.Engine != "" && !slices.Contains(Engines, b.Engine) {
			u := uses[b.Engine]
			if u == nil {
				u = &use{}
				uses[b.Engine] = u
			}
			u.checks++
			if !slices.Contains(u.commands, b.Name) {
				u.commands = append(u.commands, b.Name)
			}
		}
		for _, k := range slices.Concat(c.Services, c.Traps, c.Resources) {
			visit(k)
		}
	}
	for _, c := range slices.Concat(m.Hosts, m.Clusters) {
		visit(c)
	}
	engines := make([]string, 0, len(uses))
	for e := range uses {
		engines = append(engines, e)
	}
	slices.Sort(engines)
	for _, e := range engines {
		u := uses[e]
		slices.Sort(u.commands)
		first := m.Commands[u.commands[0]]
		w := &Error{Object: objectLabel("command", u.commands[0]),
			Message: fmt.Sprintf("engine %q is not offered by any worker (this Bergamot's workers run: %s); %d check(s) using command(s) %s will fail when they run",
				e, strings.Join(Engines, ", "), u.checks, strings.Join(u.commands, ", "))}
		if first != nil {
			w.File, w.Line = first.Source.File, first.Source.Line
		}
		m.Warnings = append(m.Warnings, w)
	}
}
