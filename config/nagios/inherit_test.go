package nagios

import (
	"sort"
	"testing"

	"github.com/bergamot-monitoring/bergamot/config"
)

// sortedSet reads a list as a set: sorted, nil when empty.
func sortedSet(v []string) any {
	if len(v) == 0 {
		return []string(nil)
	}
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

func notifyTeams(c *config.Check) any    { return sortedSet(c.Notifications.Teams) }
func notifyContacts(c *config.Check) any { return sortedSet(c.Notifications.Contacts) }
func groupSet(c *config.Check) any       { return sortedSet(c.Groups) }

// inheritBase adds templates that set every replaceable list, a second
// team and more groups to snippetBase.
const inheritBase = `
define contactgroup{
	contactgroup_name dev
	members bob
}
define hostgroup{
	hostgroup_name hg-t
}
define hostgroup{
	hostgroup_name hg-own
}
define servicegroup{
	servicegroup_name sg-t
}
define servicegroup{
	servicegroup_name sg-own
}
define host{
	name paged
	use h-tmpl
	register 0
	contact_groups ops
	contacts alice
	hostgroups hg-t
}
define service{
	name paged-svc
	use s-tmpl
	register 0
	contact_groups ops
	servicegroups sg-t
}
`

// TestListInheritanceReplaces: nagios4 replaces an inherited
// contact_groups, contacts, hostgroups or servicegroups value unless it
// starts with '+', and 'null' clears it. Bergamot, which adds sets, must
// resolve the imported XML to the same members (the import used to page
// both teams).
func TestListInheritanceReplaces(t *testing.T) {
	runSnippetCases(t, []snippetCase{
		{
			name: "replace",
			cfg: inheritBase + `
define host{
	host_name R
	use paged
	address 10.0.1.1
	contact_groups dev
	contacts bob
	hostgroups hg-own
}
define service{
	use paged-svc
	host_name R
	service_description Z
	contact_groups dev
	servicegroups sg-own
}`,
			checks: []checkWant{
				{"R", "", "teams", notifyTeams, []string{"dev"}},
				{"R", "", "contacts", notifyContacts, []string{"bob"}},
				{"R", "", "groups", groupSet, []string{"hg-own"}},
				{"R", "Z", "teams", notifyTeams, []string{"dev"}},
				{"R", "Z", "groups", groupSet, []string{"sg-own"}},
			},
		},
		{
			name: "append",
			cfg: inheritBase + `
define host{
	host_name P
	use paged
	address 10.0.1.2
	contact_groups +dev
	hostgroups +hg-own
}
define service{
	use paged-svc
	host_name P
	service_description Z
	contact_groups +dev
	servicegroups +sg-own
}`,
			checks: []checkWant{
				{"P", "", "teams", notifyTeams, []string{"dev", "ops"}},
				{"P", "", "contacts", notifyContacts, []string{"alice"}},
				{"P", "", "groups", groupSet, []string{"hg-own", "hg-t"}},
				{"P", "Z", "teams", notifyTeams, []string{"dev", "ops"}},
				{"P", "Z", "groups", groupSet, []string{"sg-own", "sg-t"}},
			},
		},
		{
			name: "null",
			cfg: inheritBase + `
define host{
	host_name N
	use paged
	address 10.0.1.3
	contact_groups null
	contacts null
	hostgroups null
}
define service{
	use paged-svc
	host_name N
	service_description Z
	contact_groups null
	servicegroups null
}`,
			checks: []checkWant{
				{"N", "", "teams", notifyTeams, []string(nil)},
				{"N", "", "contacts", notifyContacts, []string(nil)},
				{"N", "", "groups", groupSet, []string(nil)},
				{"N", "Z", "teams", notifyTeams, []string(nil)},
				{"N", "Z", "groups", groupSet, []string(nil)},
			},
		},
		{
			name: "template chain replaces",
			cfg: inheritBase + `
define host{
	name paged-dev
	use paged
	register 0
	contact_groups dev
}
define host{
	host_name D
	use paged-dev
	address 10.0.1.4
}`,
			checks: []checkWant{
				{"D", "", "teams", notifyTeams, []string{"dev"}},
				{"D", "", "contacts", notifyContacts, []string{"alice"}},
				{"D", "", "groups", groupSet, []string{"hg-t"}},
			},
		},
	})
}

// TestTimeperiodDayOverride: a time period that redefines a day under
// `use` replaces the template's ranges for that day in nagios4; Bergamot
// appends inherited time ranges, so the import must not add them.
func TestTimeperiodDayOverride(t *testing.T) {
	m, res := importSnippet(t, `
define timeperiod{
	name office
	register 0
	monday 09:00-17:00
	tuesday 09:00-17:00
}
define timeperiod{
	timeperiod_name late-monday
	use office
	monday 12:00-20:00
}
define timeperiod{
	timeperiod_name office-copy
	use office
	wednesday 10:00-11:00
}`)
	for name, want := range map[string][]string{
		"late-monday": {"monday 12:00-20:00", "tuesday 09:00-17:00"},
		"office-copy": {"monday 09:00-17:00", "tuesday 09:00-17:00", "wednesday 10:00-11:00"},
	} {
		tp := m.TimePeriods[name]
		if tp == nil {
			t.Fatalf("no time period %s in\n%s", name, res.XML)
		}
		var got []string
		for _, r := range tp.Ranges {
			got = append(got, r.Text)
		}
		if g, w := sortedSet(got), sortedSet(want); !equalAny(g, w) {
			t.Errorf("%s: ranges %v, want %v\n%s", name, got, want, res.XML)
		}
	}
}

func equalAny(a, b any) bool {
	as, _ := a.([]string)
	bs, _ := b.([]string)
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}
