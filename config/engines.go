package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Engines are the check engines the bergamot binary registers
// (cmd/bergamot's engineConstructors; a test there keeps the two equal),
// plus "passive" for checks that are never run but receive results. A
// check whose command names another engine validates, with a warning: no
// worker can run it, so it would only fail at run time.
var Engines = []string{"agent", "dns", "dummy", "http", "icmp", "internal", "jdbc", "jmx", "libvirt", "nagios", "nrpe", "passive", "script", "sftp", "snmp", "ssh", "tcp", "udp"}

// WorkerOffer is one live worker of a zone, as it registered: its name and
// the engines it offers.
type WorkerOffer struct {
	Name    string
	Engines []string
}

// Offers are the live workers of each zone, by zone name. A zone absent
// from it (or with no workers) has none known, and its checks are judged
// by this binary's Engines instead.
type Offers map[string][]WorkerOffer

// warnUnknownEngines adds one warning per engine that concrete checks use
// but no worker of this binary offers, at the first command naming it.
func warnUnknownEngines(m *Model) {
	m.Warnings = append(m.Warnings, EngineWarnings(m, nil, nil)...)
}

// ReplaceEngineWarnings recomputes the model's engine warnings (made by
// Resolve from this binary's Engines) from the live workers of each zone:
// zoneOf gives the zone a check is queued in ("" when it runs nowhere).
func (m *Model) ReplaceEngineWarnings(zoneOf func(*Check) string, offers Offers) {
	m.Warnings = slices.DeleteFunc(m.Warnings, func(e *Error) bool { return e.engine })
	m.Warnings = append(m.Warnings, EngineWarnings(m, zoneOf, offers)...).sorted()
}

// EngineWarnings warns, once per engine and zone at the first command
// naming it, about concrete checks whose engine no worker can run: no live
// worker of the check's zone offers it (when offers knows workers of that
// zone), else this binary does not register it. zoneOf may be nil.
func EngineWarnings(m *Model, zoneOf func(*Check) string, offers Offers) ErrorList {
	type key struct{ engine, zone string }
	type use struct {
		checks   int
		commands []string
	}
	uses := map[key]*use{}
	var visit func(c *Check)
	visit = func(c *Check) {
		if b := c.Command; b != nil && b.Engine != "" {
			k := key{engine: b.Engine}
			if zoneOf != nil {
				k.zone = zoneOf(c)
			}
			if len(offers[k.zone]) == 0 {
				k.zone = "" // no live worker known: the binary's list decides
			}
			if !offered(b.Engine, offers[k.zone]) {
				u := uses[k]
				if u == nil {
					u = &use{}
					uses[k] = u
				}
				u.checks++
				if !slices.Contains(u.commands, b.Name) {
					u.commands = append(u.commands, b.Name)
				}
			}
		}
		for _, k := range slices.Concat(c.Services, c.Traps, c.Resources) {
			visit(k)
		}
	}
	for _, c := range slices.Concat(m.Hosts, m.Clusters) {
		visit(c)
	}
	ks := make([]key, 0, len(uses))
	for k := range uses {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int { return cmp.Or(cmp.Compare(a.engine, b.engine), cmp.Compare(a.zone, b.zone)) })
	var out ErrorList
	for _, k := range ks {
		u := uses[k]
		slices.Sort(u.commands)
		var msg string
		if k.zone == "" {
			msg = fmt.Sprintf("engine %q is not offered by any worker (this Bergamot's workers run: %s); %d check(s) using command(s) %s will fail when they run",
				k.engine, strings.Join(Engines, ", "), u.checks, strings.Join(u.commands, ", "))
		} else {
			msg = fmt.Sprintf("uses engine %q, which no worker in zone %q offers (workers: %s); %d check(s) using command(s) %s will fail when they run",
				k.engine, k.zone, describeWorkers(offers[k.zone]), u.checks, strings.Join(u.commands, ", "))
		}
		w := &Error{Object: objectLabel("command", u.commands[0]), Message: msg, engine: true}
		if first := m.Commands[u.commands[0]]; first != nil {
			w.File, w.Line = first.Source.File, first.Source.Line
		}
		out = append(out, w)
	}
	return out
}

// offered: a check is never run for "passive"; with no workers known the
// binary's list decides.
func offered(engine string, workers []WorkerOffer) bool {
	if engine == "passive" {
		return true
	}
	if len(workers) == 0 {
		return slices.Contains(Engines, engine)
	}
	for _, w := range workers {
		if slices.Contains(w.Engines, engine) {
			return true
		}
	}
	return false
}

// describeWorkers names a zone's workers and what they offer, briefly.
func describeWorkers(ws []WorkerOffer) string {
	const most = 5
	parts := make([]string, 0, min(len(ws), most)+1)
	for i, w := range ws {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(ws)-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s offers %s", w.Name, strings.Join(w.Engines, ", ")))
	}
	return strings.Join(parts, "; ")
}
