package nagios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, p := range []string{"edge.cfg", "edge-v1-errors.cfg", "debian-samples/timeperiods.cfg", "debian-samples/localhost.cfg"} {
		if b, err := os.ReadFile(filepath.Join(fixtures, p)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("define host{\nhost_name a\\\n b\nuse x,y\n}\n"))
	f.Add([]byte("define timeperiod {\ntimeperiod_name t\nmonday 1 - wednesday 3 10:00-11:00\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := ParseObjects("fuzz.cfg", data)
		var es Errors
		if err != nil && !errors.As(err, &es) {
			t.Fatalf("unexpected error type %T", err)
		}
		for _, e := range es {
			if e.Pos.Line < 1 {
				t.Fatalf("error without line: %v", e)
			}
		}
		// Resolution and conversion must not panic on anything parsed.
		c, _ := Resolve(objs, nil)
		if c != nil {
			Convert(c, "fuzz")
		}
	})
}
