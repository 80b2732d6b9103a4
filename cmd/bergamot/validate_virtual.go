package main

import (
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/monitor/virtual"
)

// validateCycles rejects clusters and resources whose conditions depend on
// each other in a circle (directly or through other virtual checks).
func validateCycles(m *config.Model) config.ErrorList {
	graph := map[string][]string{}
	byKey := map[string]*config.Check{}
	add := func(c *config.Check, key string) {
		byKey[key] = c
		graph[key] = nil
		if c.Condition == nil {
			return
		}
		e, err := virtual.Parse(c.Condition.Text)
		if err != nil {
			return // reported by validateConditions
		}
		for _, ref := range e.References() {
			switch {
			case ref.Kind == virtual.RefCluster && ref.Name != "":
				graph[key] = append(graph[key], fmt.Sprintf("cluster %q", ref.Name))
			case ref.Kind == virtual.RefResource && ref.Name != "" && ref.Cluster != "":
				graph[key] = append(graph[key], fmt.Sprintf("resource %q on cluster %q", ref.Name, ref.Cluster))
			}
		}
	}
	for _, c := range m.Clusters {
		add(c, fmt.Sprintf("cluster %q", c.Name))
		for _, r := range c.Resources {
			add(r, fmt.Sprintf("resource %q on cluster %q", r.Name, c.Name))
		}
	}
	var out config.ErrorList
	for _, cycle := range virtual.DetectCycles(graph) {
		c := byKey[cycle[0]]
		if c == nil {
			continue
		}
		file, line := c.Source.File, c.Source.Line
		if c.Condition != nil {
			file, line = c.Condition.File, c.Condition.Line
		}
		out = append(out, &config.Error{File: file, Line: line, Object: cycle[0],
			Message: "condition depends on itself: " + strings.Join(append(cycle, cycle[0]), " -> ")})
	}
	return out
}

// validateFreshness checks the freshness parameters of passive checks.
func validateFreshness(m *config.Model) config.ErrorList {
	var out config.ErrorList
	check := func(c *config.Check, label string) {
		params := map[string]string{}
		if c.Command != nil {
			for k, v := range c.Command.Parameters {
				params[k] = v
			}
		}
		for k, v := range c.Parameters {
			params[k] = v
		}
		f, ok := params[jobs.FreshnessParam]
		if !ok {
			return
		}
		fail := func(msg string) {
			out = append(out, &config.Error{File: c.Source.File, Line: c.Source.Line, Object: label, Message: msg})
		}
		if _, err := jobs.ParseFreshness(f); err != nil {
			fail(fmt.Sprintf("parameter %q: %v", jobs.FreshnessParam, err))
		}
		if s, ok := params[jobs.FreshnessStatusParam]; ok {
			if _, err := checks.ParseStatus(s); err != nil {
				fail(fmt.Sprintf("parameter %q: %v", jobs.FreshnessStatusParam, err))
			}
		}
	}
	for _, h := range m.Hosts {
		hl := fmt.Sprintf("host %q", h.Name)
		check(h, hl)
		for _, s := range h.Services {
			check(s, fmt.Sprintf("service %q on %s", s.Name, hl))
		}
		for _, t := range h.Traps {
			check(t, fmt.Sprintf("trap %q on %s", t.Name, hl))
		}
	}
	return out
}
