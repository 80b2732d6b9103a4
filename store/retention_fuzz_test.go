package store_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// FuzzParseRetention: BERGAMOT_RETENTION_MAX either parses into days from
// 1 to 3650 that write back to an equal value, or fails as Invalid
// naming the item, leaving the base untouched.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"", "raw=30", "raw=30,5m=180,1h=1000,history=800,alerts=500,notifications=120", "raw=0", "raw=30d", " raw = 7 ,", "x=1", "raw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := store.ParseRetention(s, store.DefaultRetention)
		if err != nil {
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "retention item") {
				t.Fatalf("%q: error %v is not an Invalid naming the item", s, err)
			}
			if r != store.DefaultRetention {
				t.Fatalf("%q: failed but changed the base: %+v", s, r)
			}
			return
		}
		for _, d := range []int{r.Raw, r.Rollup5m, r.Rollup1h, r.History, r.Alerts, r.Notifications} {
			if d < 1 || d > 3650 {
				t.Fatalf("%q: parsed %+v", s, r)
			}
		}
		again, err := store.ParseRetention(r.String(), store.Retention{})
		if err != nil || again != r {
			t.Fatalf("%q: %+v wrote %q, read back %+v, %v", s, r, r.String(), again, err)
		}
	})
}
