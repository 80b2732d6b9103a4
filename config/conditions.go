package config

import (
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/monitor/virtual"
)

// Cluster and resource conditions are virtual-check expressions
// (monitor/virtual); these validators check them against the model. They
// are part of Validators, which every configuration apply runs.

// ValidateConditions parses every cluster and resource condition and checks
// that the hosts and services it names exist.
func ValidateConditions(m *Model) ErrorList {
	var out ErrorList
	hosts := map[string]*Check{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h
	}
	clusters := map[string]*Check{}
	for _, c := range m.Clusters {
		clusters[c.Name] = c
	}
	check := func(c *Check, label string) {
		if c.Condition == nil || strings.TrimSpace(c.Condition.Text) == "" {
			out = append(out, &Error{File: c.Source.File, Line: c.Source.Line, Object: label, Message: "a " + c.Kind + " needs a <condition>"})
			return
		}
		e, err := virtual.Parse(c.Condition.Text)
		if err != nil {
			out = append(out, &Error{File: c.Condition.File, Line: c.Condition.Line, Object: label, Message: "condition: " + err.Error()})
			return
		}
		for _, ref := range e.References() {
			if ref.ID != "" || ref.Pool != "" {
				continue
			}
			var msg string
			switch ref.Kind {
			case virtual.RefHost:
				if hosts[ref.Name] == nil {
					msg = fmt.Sprintf("unknown host %q", ref.Name)
				}
			case virtual.RefService, virtual.RefTrap:
				h := hosts[ref.Host]
				if h == nil && ref.Host != "" {
					msg = fmt.Sprintf("unknown host %q", ref.Host)
				} else if h != nil && !hasChild(h, string(ref.Kind), ref.Name) {
					msg = fmt.Sprintf("host %q has no %s %q", ref.Host, ref.Kind, ref.Name)
				}
			case virtual.RefCluster:
				if clusters[ref.Name] == nil {
					msg = fmt.Sprintf("unknown cluster %q", ref.Name)
				}
			}
			if msg != "" {
				out = append(out, &Error{File: c.Condition.File, Line: c.Condition.Line, Object: label, Message: "condition refers to " + msg})
			}
		}
	}
	for _, c := range m.Clusters {
		check(c, fmt.Sprintf("cluster %q", c.Name))
		for _, r := range c.Resources {
			check(r, fmt.Sprintf("resource %q", r.Name))
		}
	}
	return out
}

func hasChild(h *Check, kind, name string) bool {
	list := h.Services
	if kind == "trap" {
		list = h.Traps
	}
	for _, c := range list {
		if c.Name == name {
			return true
		}
	}
	return false
}

// ValidateCycles rejects clusters and resources whose conditions depend on
// each other in a circle (directly or through other virtual checks).
func ValidateCycles(m *Model) ErrorList {
	graph := map[string][]string{}
	byKey := map[string]*Check{}
	add := func(c *Check, key string) {
		byKey[key] = c
		graph[key] = nil
		if c.Condition == nil {
			return
		}
		e, err := virtual.Parse(c.Condition.Text)
		if err != nil {
			return // reported by ValidateConditions
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
	var out ErrorList
	for _, cycle := range virtual.DetectCycles(graph) {
		c := byKey[cycle[0]]
		if c == nil {
			continue
		}
		file, line := c.Source.File, c.Source.Line
		if c.Condition != nil {
			file, line = c.Condition.File, c.Condition.Line
		}
		out = append(out, &Error{File: file, Line: line, Object: cycle[0],
			Message: "condition depends on itself: " + strings.Join(append(cycle, cycle[0]), " -> ")})
	}
	return out
}
