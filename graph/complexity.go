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
	history := func(child int, first *int, _ *string) int { return page(child, first, store.HistoryPage.Default) }
	metrics := func(child int, _ *string, _, _ *time.Time, points *int) int {
		// Few series per check; points cost a tenth of a field each.
		return 1 + child*max(deref(points, 200)/10, 1)
	}
	c.Host.History, c.Service.History, c.Trap.History, c.Cluster.History, c.Resource.History = history, history, history, history, history
	c.Host.Metrics, c.Service.Metrics, c.Trap.Metrics, c.Cluster.Metrics, c.Resource.Metrics = metrics, metrics, metrics, metrics, metrics
	// listOf costs a list field by its first argument, defaulting to size.
	listOf := func(size store.PageSize) func(child int, first *int) int {
		return func(child int, first *int) int { return page(child, first, size.Default) }
	}
	checks, revisions, hosts := listOf(store.ChecksPage), listOf(store.RevisionsPage), listOf(store.HostsPage)
	alertList, downtimeList, commentList := listOf(store.AlertsPage), listOf(store.DowntimesPage), listOf(store.CommentsPage)
	notifications := listOf(store.NotificationsPage)
	alerts := func(child int, _ *bool, first *int, _ *string) int { return alertList(child, first) }
	downtimes := func(child int, _ *bool, first *int, _ *string) int { return downtimeList(child, first) }
	comments := func(child int, first *int, _ *string) int { return commentList(child, first) }
	c.Query.Checks = func(child int, _ *store.CheckFilter, first *int, _ *string) int { return checks(child, first) }
	c.Query.ConfigRevisions = func(child int, first *int, _ *string) int { return revisions(child, first) }
	c.Query.Hosts = func(child int, _ *string, first *int, _ *string) int { return hosts(child, first) }
	c.Query.NotificationLog = func(child int, first *int, _, _ *string, _ *bool) int { return notifications(child, first) }
	c.Query.Alerts, c.Query.Downtimes, c.Alert.Comments = alerts, downtimes, comments
	c.Host.Alerts, c.Service.Alerts, c.Trap.Alerts, c.Cluster.Alerts, c.Resource.Alerts = alerts, alerts, alerts, alerts, alerts
	c.Host.Downtimes, c.Service.Downtimes, c.Trap.Downtimes, c.Cluster.Downtimes, c.Resource.Downtimes = downtimes, downtimes, downtimes, downtimes, downtimes
	c.Host.Comments, c.Service.Comments, c.Trap.Comments, c.Cluster.Comments, c.Resource.Comments = comments, comments, comments, comments, comments
	return c
}
