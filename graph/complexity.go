package graph

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/store"
)

// complexity makes list fields with a page size cost their page size times
// their selection, so that checks(first: 1000) { nodes { history(first:
// 1000) ... } } is refused while the dashboard's pages pass. Other fields
// keep gqlgen's default (1 plus their selection).
func complexity() ComplexityRoot {
	var c ComplexityRoot
	page := func(child int, first *int, def int) int { return 1 + child*max(deref(first, def), 1) }
	history := func(child int, first *int, _ *string) int { return page(child, first, 50) }
	metrics := func(child int, _ *string, _, _ *time.Time, points *int) int {
		// Few series per check; points cost a tenth of a field each.
		return 1 + child*max(deref(points, 200)/10, 1)
	}
	c.Host.History, c.Service.History, c.Trap.History, c.Cluster.History, c.Resource.History = history, history, history, history, history
	c.Host.Metrics, c.Service.Metrics, c.Trap.Metrics, c.Cluster.Metrics, c.Resource.Metrics = metrics, metrics, metrics, metrics, metrics
	c.Query.Checks = func(child int, _ *store.CheckFilter, first *int, _ *string) int { return page(child, first, 100) }
	c.Query.ConfigRevisions = func(child int, first *int) int { return page(child, first, 20) }
	return c
}
