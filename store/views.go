package store

import (
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// CheckKind is the kind of a check as the API names it.
type CheckKind string

// The kinds.
const (
	KindHost     CheckKind = "HOST"
	KindService  CheckKind = "SERVICE"
	KindTrap     CheckKind = "TRAP"
	KindCluster  CheckKind = "CLUSTER"
	KindResource CheckKind = "RESOURCE"
)

// CheckRow is a check with its current state, as read for the API.
type CheckRow struct {
	ID          string
	Kind        CheckKind
	Name        string
	Summary     string
	Description string
	Enabled     bool
	Groups      []string
	Location    string
	Address     string
	Engine      string
	Command     string
	Condition   string
	ParentID    string
	ParentName  string
	// DependsOn holds the ids of the checks named by <depends>.
	DependsOn []string
	// SecurityDomains are the domains the check belongs to (none: open to
	// every member); see docs/security-domains.md.
	SecurityDomains []string
	State           *CheckState
}

// CheckState is a check's current state.
type CheckState struct {
	Status          checks.Status
	OK              bool
	Hard            bool
	Attempt         int
	Output          string
	LongOutput      string
	Perfdata        []checks.Perfdata
	LastCheck       *time.Time
	LastStateChange *time.Time
	Flapping        bool
	FlapPercent     float64
	Acknowledged    bool
	InDowntime      bool
	Suppressed      bool
	Encompassed     bool
	Worker          string
	RuntimeMs       float64
}

// SummaryChanged reports whether cur differs from prev in what a status
// view shows of a check: status (and so ok), hard/soft, the attempt of a
// soft problem (the "soft 2" chip), acknowledged, in downtime, flapping,
// suppressed and encompassed. Output, perfdata, last check, runtime,
// worker and flap percentage are left out: a result that only moves them
// changed nothing such a view shows. A missing side (a check's first
// state) counts as a change. The trigger of migration 000015 stamps
// check_state.summary_changed_at on the same fields: change both together.
func SummaryChanged(prev, cur *CheckState) bool {
	if prev == nil || cur == nil {
		return true
	}
	return prev.Status != cur.Status || prev.OK != cur.OK || prev.Hard != cur.Hard ||
		!cur.Hard && !cur.OK && prev.Attempt != cur.Attempt ||
		prev.Acknowledged != cur.Acknowledged || prev.InDowntime != cur.InDowntime ||
		prev.Flapping != cur.Flapping || prev.Suppressed != cur.Suppressed || prev.Encompassed != cur.Encompassed
}

// The API's check types, one per kind.
type (
	// Host is a host check.
	Host struct{ CheckRow }
	// Service is a service of a host.
	Service struct{ CheckRow }
	// Trap is a passive check fed by SNMP traps.
	Trap struct{ CheckRow }
	// Cluster is a virtual host over other hosts.
	Cluster struct{ CheckRow }
	// Resource is a virtual service of a cluster.
	Resource struct{ CheckRow }
)

// IsCheck marks Host as implementing the GraphQL Check interface.
func (Host) IsCheck() {}

// IsCheck marks Service as implementing the GraphQL Check interface.
func (Service) IsCheck() {}

// IsCheck marks Trap as implementing the GraphQL Check interface.
func (Trap) IsCheck() {}

// IsCheck marks Cluster as implementing the GraphQL Check interface.
func (Cluster) IsCheck() {}

// IsCheck marks Resource as implementing the GraphQL Check interface.
func (Resource) IsCheck() {}

// Checker is any of the check types.
type Checker interface {
	IsCheck()
	Row() *CheckRow
}

// Row returns the common part.
func (c *CheckRow) Row() *CheckRow { return c }

// AsChecker wraps a row in its kind's type.
func AsChecker(r *CheckRow) Checker {
	switch r.Kind {
	case KindService:
		return &Service{*r}
	case KindTrap:
		return &Trap{*r}
	case KindCluster:
		return &Cluster{*r}
	case KindResource:
		return &Resource{*r}
	}
	return &Host{*r}
}

// StateChange is one row of a check's history.
type StateChange struct {
	seq      int64 // the row's id: its position in History's order
	At       time.Time
	Status   checks.Status
	Previous checks.Status
	Hard     bool
	Attempt  int
	Output   string
}

// Alert is a problem, open or recovered.
type Alert struct {
	ID              string
	CheckID         string
	Status          checks.Status
	Output          string
	OpenedAt        time.Time
	UpdatedAt       time.Time
	RecoveredAt     *time.Time
	AcknowledgedAt  *time.Time
	AcknowledgedBy  *string
	EscalationLevel int
}

// Acknowledged reports whether someone acknowledged the alert.
func (a *Alert) Acknowledged() bool { return a.AcknowledgedAt != nil }

// Comment is a note on a check or alert.
type Comment struct {
	ID        string
	Author    string
	Body      string
	CreatedAt time.Time
}

// Downtime is a planned maintenance window.
type Downtime struct {
	ID        string
	CheckID   string
	Start     time.Time
	End       time.Time
	Comment   string
	Author    string
	Cancelled bool
	// Kind, Duration (flexible, seconds), TimePeriod (recurring),
	// StartedAt (when it began; nil when not) and InEffect: see downtime.go.
	Kind       DowntimeKind
	Duration   *int
	TimePeriod *string
	StartedAt  *time.Time
	InEffect   bool
}

// MetricSeries is one perfdata label's values over time.
type MetricSeries struct {
	Label  string
	UOM    string
	Points []MetricPoint
}

// MetricPoint is one (downsampled) value.
type MetricPoint struct {
	At    time.Time
	Value float64
	Min   float64
	Max   float64
}

// StatusCount counts checks in one status.
type StatusCount struct {
	Status checks.Status
	Count  int
}

// ConfigRevision is one applied configuration change.
type ConfigRevision struct {
	ID        int
	Author    string
	Summary   string
	Added     int
	Changed   int
	Removed   int
	Diff      string
	CreatedAt time.Time
}

// Worker is a worker process as last seen.
type Worker struct {
	ID        string
	Name      string
	Zone      string
	Engines   []string
	StartedAt time.Time
	LastSeen  time.Time
	Alive     bool
}

// onHost reports whether r is the host named host or one of its checks.
func onHost(r *CheckRow, host string) bool {
	if r.Kind == KindHost {
		return r.Name == host
	}
	return r.ParentName == host
}

// Match reports whether a check satisfies the filter (as ListChecks would).
// Changed is about an update, not a check, and is not tested here (see
// SummaryChanged).
func (f *CheckFilter) Match(r *CheckRow) bool {
	if f == nil {
		return true
	}
	if len(f.IDs) > 0 && !contains(f.IDs, r.ID) {
		return false
	}
	if f.Kind != nil && *f.Kind != r.Kind {
		return false
	}
	if f.Host != nil && !onHost(r, *f.Host) {
		return false
	}
	if f.Group != nil && !contains(r.Groups, *f.Group) {
		return false
	}
	if f.Location != nil && r.Location != *f.Location {
		return false
	}
	st := r.State
	if len(f.Status) > 0 {
		found := false
		for _, s := range f.Status {
			found = found || s == st.Status
		}
		if !found {
			return false
		}
	}
	if f.Problems != nil && *f.Problems == st.OK {
		return false
	}
	if f.Hard != nil && *f.Hard != st.Hard {
		return false
	}
	if f.Acknowledged != nil && *f.Acknowledged != st.Acknowledged {
		return false
	}
	if f.InDowntime != nil && *f.InDowntime != st.InDowntime {
		return false
	}
	if f.Search != nil && *f.Search != "" {
		q := strings.ToLower(*f.Search)
		if !strings.Contains(strings.ToLower(r.Name), q) && !strings.Contains(strings.ToLower(r.Summary), q) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
