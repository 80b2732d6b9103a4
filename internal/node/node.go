// Package node holds the parts of a serve node that production
// (cmd/bergamot) and the API test rig (internal/apitest) must assemble the
// same way, so that tests exercise what production runs. Today that is the
// configuration validators; the rest of the node's wiring (hub, resolver,
// processor, sinks) is still assembled twice (cmd/bergamot/app.go newApp
// and internal/apitest Start): see issue 17, item 4.
package node

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/store"
)

// Validators are the checks beyond config.Resolve that every configuration
// apply runs (store.Configs.Validators), each owned by its domain:
// cluster and resource conditions and their cycles, passive checks'
// freshness parameters (config), and contacts' notification channels
// (notifiers/dispatch, with the default channels), and the operator's
// minimum check interval (config.MinInterval; zero means
// config.DefaultMinInterval).
func Validators(minInterval time.Duration) []store.Validator {
	if minInterval <= 0 {
		minInterval = config.DefaultMinInterval
	}
	return []store.Validator{config.ValidateConditions, config.ValidateCycles, config.ValidateFreshness,
		dispatch.DefaultChannels(nil).Validate, config.MinInterval(minInterval)}
}
