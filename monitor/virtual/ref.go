package virtual

import (
	"context"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// RefKind is the kind of check a reference names.
type RefKind string

// The kinds of reference.
const (
	RefHost     RefKind = "host"
	RefService  RefKind = "service"
	RefTrap     RefKind = "trap"
	RefResource RefKind = "resource"
	RefCluster  RefKind = "cluster"
)

// Ref is one reference to other checks in a condition. Exactly one of
// Name, ID or (for a whole pool) Pool with an empty Name selects the check;
// Host/HostID, Cluster/ClusterID or Pool say where it lives.
type Ref struct {
	Kind RefKind
	// Name is the check's name; empty when ID is given or the reference
	// is a whole pool ("hosts in pool 'p'").
	Name string
	// ID is the check's UUID when it was given instead of a name.
	ID string
	// Host or HostID is the host of a service or trap.
	Host, HostID string
	// Cluster or ClusterID is the cluster of a resource.
	Cluster, ClusterID string
	// Pool selects every matching check in a pool: "hosts in pool 'p'"
	// (Name empty) or "service 'n' on hosts in pool 'p'".
	Pool string
}

// String renders the reference in the condition language.
func (r Ref) String() string {
	var b strings.Builder
	switch {
	case r.Pool != "" && r.Name == "" && r.ID == "":
		b.WriteString(string(r.Kind) + "s in pool " + quote(r.Pool))
		return b.String()
	case r.ID != "":
		b.WriteString(string(r.Kind) + " " + r.ID)
	default:
		b.WriteString(string(r.Kind) + " " + quote(r.Name))
	}
	switch {
	case r.Pool != "":
		b.WriteString(" on hosts in pool " + quote(r.Pool))
	case r.HostID != "":
		b.WriteString(" on host " + r.HostID)
	case r.Host != "":
		b.WriteString(" on host " + quote(r.Host))
	case r.ClusterID != "":
		b.WriteString(" on cluster " + r.ClusterID)
	case r.Cluster != "":
		b.WriteString(" on cluster " + quote(r.Cluster))
	}
	return b.String()
}

// Member is one check a reference resolved to, with its current state.
type Member struct {
	ID, Name string
	Status   checks.Status
	// Hard is true when the status is a hard (confirmed) state.
	Hard bool
}

func (m Member) label() string {
	if m.Name != "" {
		return m.Name
	}
	return m.ID
}

// Resolver finds the current state of the checks a reference names. A
// reference to a single check returns one member; a pool returns all of
// its members (possibly none). An unknown reference is an error.
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) ([]Member, error)
}

// Verdict is the computed state of a virtual check.
type Verdict struct {
	Status checks.Status
	// Hard is true only when every member that was looked at is hard.
	Hard bool
	// Output explains the verdict, e.g. "2 of 3 members OK: web1 CRITICAL".
	Output string
}
