package main

import (
	"slices"
	"testing"

	"github.com/bergamot-monitoring/bergamot/config"
)

// TestConfigKnowsTheEngines: config.Engines, which validation uses to warn
// about engines no worker runs, lists exactly this binary's engines (and
// "passive", and "agent", which the agent hubs run on host agents).
func TestConfigKnowsTheEngines(t *testing.T) {
	want := append(allEngines(), "passive", "agent")
	slices.Sort(want)
	got := slices.Clone(config.Engines)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("config.Engines = %v, this binary registers %v (+ passive, agent): keep them equal", got, want)
	}
}
