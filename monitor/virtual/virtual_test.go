package virtual

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// stateTable is an in-memory Resolver: the state the result processor
// would read, keyed by the reference's canonical text.
type stateTable map[string][]Member

func (s stateTable) Resolve(_ context.Context, ref Ref) ([]Member, error) {
	ms, ok := s[ref.String()]
	if !ok {
		return nil, errors.New("no such check")
	}
	return ms, nil
}

func m(name string, st checks.Status) Member {
	return Member{ID: "id-" + name, Name: name, Status: st, Hard: true}
}

const hostUUID = "3f2a6c1e-9b7d-4e8a-a1b2-c3d4e5f60718"

func states() stateTable {
	ok, warn, crit := checks.StatusOK, checks.StatusWarning, checks.StatusCritical
	soft := m("d", checks.StatusUnknown)
	soft.Hard = false
	return stateTable{
		"host 'a'":                    {m("a", ok)},
		"host 'a2'":                   {m("a2", ok)},
		"host 'b'":                    {m("b", warn)},
		"host 'c'":                    {m("c", crit)},
		"host 'd'":                    {soft},
		"host " + hostUUID:            {m("uuid-host", crit)},
		"hosts in pool 'p3one'":       {m("web1", ok), m("web2", ok), m("web3", crit)},
		"hosts in pool 'p3two'":       {m("web1", ok), m("web4", crit), m("web5", crit)},
		"hosts in pool 'p3ok'":        {m("web1", ok), m("web2", ok), m("web6", ok)},
		"hosts in pool 'empty'":       nil,
		"services in pool 'svc'":      {m("s1", ok), m("s2", warn)},
		"traps in pool 'tr'":          {m("t1", crit)},
		"service 'x' on host 'h'":     {m("x", ok)},
		"trap 't' on host 'h'":        {m("t", crit)},
		"resource 'r' on cluster 'k'": {m("r", warn)},
		"cluster 'k'":                 {m("k", ok)},
		"service 'bergamot-ui-daemon' on hosts in pool 'bergamot-ui-cluster'": {
			m("ui1/bergamot-ui-daemon", ok), m("ui2/bergamot-ui-daemon", ok), m("ui3/bergamot-ui-daemon", ok)},
	}
}

func TestEval(t *testing.T) {
	ok, warn, crit, unk := checks.StatusOK, checks.StatusWarning, checks.StatusCritical, checks.StatusUnknown
	tests := []struct {
		src  string
		want checks.Status
	}{
		// Operators.
		{"host 'a' or host 'c'", ok},
		{"host 'a' and host 'c'", crit},
		{"host 'b' && host 'd'", unk}, // UNKNOWN is worse than WARNING
		{"host 'b' || host 'c'", warn},
		{"host 'a' & host 'b'", warn},
		{"host 'c' | host 'b'", warn},
		{"host 'a' xor host 'c'", ok},
		{"host 'a' ^ host 'a2'", crit},
		{"host 'b' xor host 'c'", crit},
		{"not host 'a'", crit},
		{"!host 'c'", ok},
		{"NOT HOST 'c'", ok},
		// Precedence: not > and > xor > or.
		{"host 'a' or host 'c' and host 'b'", ok},
		{"(host 'a' or host 'c') and host 'b'", warn},
		{"not host 'a' or host 'a'", ok},
		{"host 'a' xor host 'a2' or host 'a'", ok},
		{"host 'a' xor host 'a2' and host 'c'", ok},
		{"(host 'a' xor host 'a2') and host 'c'", crit},
		// References of every kind.
		{"service 'x' on host 'h' and cluster 'k'", ok},
		{"trap 't' on host 'h' or resource 'r' on cluster 'k'", warn},
		{"host " + hostUUID, crit},
		{"hosts in pool 'p3one'", crit},
		{"services in pool 'svc'", warn},
		{"traps in pool 'tr' or host 'a'", ok},
		// all / any.
		{"all of [host 'a', host 'b', host 'c']", crit},
		{"any of [host 'c', host 'b']", warn},
		{"all hosts in pool 'p3one'", crit},
		{"any of hosts in pool 'p3one'", ok},
		{"all of [host 'a' or host 'c', host 'b']", warn},
		{"all of [hosts in pool 'p3ok', host 'a']", ok},
		{"all of hosts in pool 'empty'", unk},
		// N of.
		{"two of [host 'a', host 'b', host 'c']", crit},
		{"one of [host 'a', host 'b', host 'c']", ok},
		{"two or more of hosts in pool 'p3one'", ok},
		{"three of hosts in pool 'p3one' as WARNING", warn},
		{"one or less of hosts in pool 'p3one'", crit},
		{"nine or less of hosts in pool 'p3one'", ok},
		{"2 of hosts in pool 'p3one'", ok},
		// majority / quorum.
		{"majority of hosts in pool 'p3one'", warn},
		{"majority of hosts in pool 'p3one' as OK, CRITICAL", ok},
		{"majority hosts in pool 'p3two'", crit},
		{"majority of hosts in pool 'p3ok'", ok},
		{"quorum of [host 'a', host 'a2']", warn}, // needs more than two members to be OK
		{"quorum of hosts in pool 'p3two' as warning, unknown", unk},
		{"majority of service 'bergamot-ui-daemon' on hosts in pool 'bergamot-ui-cluster'", ok},
		// count.
		{"count of hosts in pool 'p3one' is >= 2", ok},
		{"count critical of hosts in pool 'p3two' == 2 as WARNING", ok},
		{"count critical hosts in pool 'p3two' lt 2 as WARNING", warn},
		{"count of hosts in pool 'empty' is eq 0", ok},
		// case.
		{"case when host 'c' is OK then OK when host 'b' is WARNING then WARNING else CRITICAL end", warn},
		{"case when host 'c' is OK then OK else UNKNOWN end", unk},
		{"case when host 'a' and host 'a2' is OK then OK else CRITICAL end", ok},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			v, err := e.Eval(context.Background(), states())
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if v.Status != tt.want {
				t.Errorf("status %v (%s), want %v", v.Status, v.Output, tt.want)
			}
			// The canonical form parses back to itself and means the same.
			again, err := Parse(e.String())
			if err != nil || again.String() != e.String() {
				t.Fatalf("round trip of %q: %v, %v", e.String(), again, err)
			}
			if v2, _ := again.Eval(context.Background(), states()); v2 != v {
				t.Errorf("canonical %q gives %+v, want %+v", e.String(), v2, v)
			}
		})
	}
}

func TestCountComparisons(t *testing.T) {
	// p3one has 2 OK members.
	for _, tt := range []struct {
		ops  []string
		n    int
		want bool
	}{
		{[]string{"==", "=", "eq"}, 2, true}, {[]string{"==", "eq"}, 3, false},
		{[]string{"!=", "ne"}, 3, true}, {[]string{"!=", "ne"}, 2, false},
		{[]string{"<", "lt"}, 3, true}, {[]string{"<", "lt"}, 2, false},
		{[]string{"<=", "lteq"}, 2, true}, {[]string{"<=", "lteq"}, 1, false},
		{[]string{">", "gt"}, 1, true}, {[]string{">", "gt"}, 2, false},
		{[]string{">=", "gteq"}, 2, true}, {[]string{">=", "gteq"}, 3, false},
	} {
		for _, op := range tt.ops {
			src := fmt.Sprintf("count of hosts in pool 'p3one' is %s %d as WARNING", op, tt.n)
			e, err := Parse(src)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			v, err := e.Eval(context.Background(), states())
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Status == checks.StatusOK; got != tt.want {
				t.Errorf("%s: %v, want OK=%v", src, v.Status, tt.want)
			}
		}
	}
}

func TestVerdictOutputAndHard(t *testing.T) {
	tests := []struct {
		src, out string
		hard     bool
	}{
		{"majority of hosts in pool 'p3one'", "2 of 3 members OK: web3 CRITICAL", true},
		{"majority of hosts in pool 'p3two'", "1 of 3 members OK: web4 CRITICAL, web5 CRITICAL", true},
		{"host 'a' or host 'd'", "1 of 2 members OK: d UNKNOWN", false},
		{"host 'a' and host 'a'", "1 of 1 members OK", true},
		{"count critical of hosts in pool 'p3two' > 2", "2 of 3 members CRITICAL (wanted > 2)", true},
		{"all of hosts in pool 'empty'", "no members", true},
		{"all of [host 'a', host 'd' or host 'a']", "2 of 2 members OK", false},
		{"case when host 'c' is CRITICAL then WARNING else OK end", "host 'c' is CRITICAL: 0 of 1 members OK: c CRITICAL", true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(context.Background(), states())
		if err != nil {
			t.Fatal(err)
		}
		if v.Output != tt.out || v.Hard != tt.hard {
			t.Errorf("%s: output %q hard %v, want %q hard %v", tt.src, v.Output, v.Hard, tt.out, tt.hard)
		}
	}
}

func TestEvalUnknownReference(t *testing.T) {
	e, err := Parse("host 'a' or host 'nope'")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(context.Background(), states())
	if err == nil || err.Error() != "resolving host 'nope': no such check" {
		t.Errorf("got %v", err)
	}
}

func TestReferences(t *testing.T) {
	e, err := Parse("service 'x' on host 'h' or resource 'r' on cluster 'k' or cluster 'k' or trap 't' on host " + hostUUID +
		" or all of [host 'h', host 'h', hosts in pool 'p'] or majority of service 'svc' on hosts in pool 'q' or resource " + hostUUID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{Kind: RefService, Name: "x", Host: "h"},
		{Kind: RefResource, Name: "r", Cluster: "k"},
		{Kind: RefCluster, Name: "k"},
		{Kind: RefTrap, Name: "t", HostID: hostUUID},
		{Kind: RefHost, Name: "h"},
		{Kind: RefHost, Pool: "p"},
		{Kind: RefService, Name: "svc", Pool: "q"},
		{Kind: RefResource, ID: hostUUID},
	}
	if got := e.References(); !reflect.DeepEqual(got, want) {
		t.Errorf("References()\n got %+v\nwant %+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	primary := `a reference (host, service, trap, resource, cluster, hosts/services/traps in pool), a function (all, any, one..nine, majority, quorum, count, case), "not" or "("`
	status := "a status (ok, warning, critical, unknown, ...)"
	tests := []struct{ src, want string }{
		{"", "column 1: expected " + primary + ", found end of condition"},
		{"host", "column 5: expected a host name or id ('name' or a UUID), found end of condition"},
		{"host 'a' or", "column 12: expected " + primary + ", found end of condition"},
		{"host 'a' host 'b'", `column 10: expected an operator ("and", "or", "xor") or the end, found "host"`},
		{"service 'x'", `column 12: expected "on", found end of condition`},
		{"service 'x' on cluster 'c'", `column 16: expected "host" or "hosts", found "cluster"`},
		{"resource 'r' on host 'h'", `column 17: expected "cluster", found "host"`},
		{"resource 'r'", `column 13: expected "on", found end of condition`},
		{"hosts in 'p'", `column 10: expected "pool", found name 'p'`},
		{"hosts in pool p", `column 15: expected a non-empty pool name in quotes, found "p"`},
		{"service 'x' on hosts pool 'p'", `column 22: expected "in", found "pool"`},
		{"(host 'a'", `column 10: expected ")", found end of condition`},
		{"all of [host 'a' host 'b']", `column 18: expected "," or "]", found "host"`},
		{"two or most of [host 'a']", `column 8: expected "more" or "less", found "most"`},
		{"majority of hosts in pool 'p' as OK", `column 36: expected ",", found end of condition`},
		{"majority of hosts in pool 'p' as FINE, CRITICAL", "column 34: expected " + status + `, found "fine"`},
		{"one of [host 'a'] as", "column 21: expected " + status + ", found end of condition"},
		{"count of hosts in pool 'p' is about 2", `column 31: expected a comparison (==, !=, <, <=, >, >=, eq, ne, lt, lteq, gt, gteq), found "about"`},
		{"count of hosts in pool 'p' > two", `column 30: expected a number, found "two"`},
		{"count of hosts in pool 'p' > 99999999", `column 30: expected a number up to 1048576, found "99999999"`},
		{"case host 'a' is OK then OK end", `column 6: expected "when", found "host"`},
		{"case when host 'a' is OK then OK end", `column 34: expected "when" or "else", found "end"`},
		{"case when host 'a' then OK else CRITICAL end", `column 20: expected "is", found "then"`},
		{"case when host 'a' is OK then OK else CRITICAL", `column 47: expected "end", found end of condition`},
		{"host ''", "column 6: expected a host name or id ('name' or a UUID), found name ''"},
		{"service 'x' on hosts in pool \"\"", "column 30: expected a non-empty pool name in quotes, found name ''"},
		{"host 'a", "column 6: expected a closing ', found end of condition"},
		{"host 'a' $ host 'b'", `column 10: expected a reference, operator or keyword, found "$"`},
		{"frobnicate of [host 'a']", "column 1: expected " + primary + `, found "frobnicate"`},
		{"not", "column 4: expected " + primary + ", found end of condition"},
		{"all of", "column 7: expected " + primary + ", found end of condition"},
		{"host 'é' or § ", `column 13: expected a reference, operator or keyword, found "§"`},
	}
	deep := strings.Repeat("(", 70) + "host 'a'" + strings.Repeat(")", 70)
	tests = append(tests, struct{ src, want string }{deep, `column 65: expected at most 64 levels of nesting, found "("`},
		struct{ src, want string }{strings.Repeat("all of ", 70) + "host 'a'", `column 449: expected at most 64 levels of nesting, found "all"`})
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a SyntaxError", tt.src, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tt.src, err, tt.want)
			}
		})
	}
}

func TestDetectCycles(t *testing.T) {
	graph := map[string][]string{
		"web":    {"db", "cache"},
		"db":     {"disk"},
		"cache":  {"web"},
		"self":   {"self"},
		"a":      {"b"},
		"b":      {"c"},
		"c":      {"a", "d"},
		"d":      {},
		"lonely": nil,
	}
	want := [][]string{{"a", "b", "c"}, {"cache", "web"}, {"self"}}
	if got := DetectCycles(graph); !reflect.DeepEqual(got, want) {
		t.Errorf("DetectCycles = %v, want %v", got, want)
	}
	if got := DetectCycles(map[string][]string{"x": {"y"}, "y": {"z"}}); len(got) != 0 {
		t.Errorf("acyclic graph: %v", got)
	}
}

// TestDependencyGraph builds the graph the config layer would: cluster
// conditions referring to each other's resources.
func TestDependencyGraph(t *testing.T) {
	conds := map[string]string{
		"cluster 'x'": "resource 'r' on cluster 'y' or host 'a'",
		"cluster 'y'": "cluster 'x' and host 'b'",
		"cluster 'z'": "host 'a'",
	}
	graph := map[string][]string{}
	for name, src := range conds {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range e.References() {
			target := r.String()
			if r.Kind == RefResource {
				target = "cluster " + quote(r.Cluster)
			}
			graph[name] = append(graph[name], target)
		}
	}
	want := [][]string{{"cluster 'x'", "cluster 'y'"}}
	if got := DetectCycles(graph); !reflect.DeepEqual(got, want) {
		t.Errorf("DetectCycles = %v, want %v", got, want)
	}
}
