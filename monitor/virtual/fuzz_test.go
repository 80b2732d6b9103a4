package virtual

import (
	"context"
	"errors"
	"hash/fnv"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// hashStates gives every reference two members with statuses derived from
// its text, so any parsed condition can be evaluated.
type hashStates struct{}

func (hashStates) Resolve(_ context.Context, ref Ref) ([]Member, error) {
	h := fnv.New32a()
	h.Write([]byte(ref.String()))
	v := h.Sum32()
	all := checks.AllStatuses()
	return []Member{
		{Name: "m1", Status: all[v%uint32(len(all))], Hard: v&1 == 0},
		{Name: "m2", Status: all[(v>>8)%uint32(len(all))], Hard: true},
	}, nil
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"host 'pgsql1.local' or host 'pgsql2.local'",
		"majority of service 'bergamot-ui-daemon' on hosts in pool 'bergamot-ui-cluster'",
		"not (host 'a' && host 'b') ^ !host 'c' | host 'd' & host 'e'",
		"two or more of [host 'a', host 'b', service 'x' on host 'h'] as WARNING",
		"quorum hosts in pool 'p' as OK, CRITICAL",
		"count critical of traps in pool 't' is gteq 2 as warning",
		"case when host 'a' is OK then OK when host 'b' is WARNING then WARNING else CRITICAL end",
		"resource 'r' on cluster 'c' xor cluster 'c'",
		"host 3f2a6c1e-9b7d-4e8a-a1b2-c3d4e5f60718 and service 'x\\'y' on host \"h\"",
		"all of [hosts in pool 'p', all of services in pool 's']",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%q: error is not a SyntaxError: %v", src, err)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", src, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("%q: canonical form is not stable: %q then %q", src, canon, again.String())
		}
		_ = e.References()
		v1, err1 := e.Eval(context.Background(), hashStates{})
		v2, err2 := again.Eval(context.Background(), hashStates{})
		if err1 != nil || err2 != nil || v1 != v2 {
			t.Fatalf("%q: %+v %v vs canonical %+v %v", src, v1, err1, v2, err2)
		}
	})
}
