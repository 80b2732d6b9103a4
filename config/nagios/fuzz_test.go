package nagios

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

func FuzzParse(f *testing.F) {
	for _, p := range []string{"edge.cfg", "edge-v1-errors.cfg", "debian-samples/timeperiods.cfg", "debian-samples/localhost.cfg"} {
		if path, ok := fixtures.Lookup("nagios/import/" + p); ok {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("define host{\nhost_name a\\\n b\nuse x,y\n}\n"))
	f.Add([]byte("define timeperiod {\ntimeperiod_name t\nmonday 1 - wednesday 3 10:00-11:00\n}"))
	f.Add([]byte(snippetBase + "define servicedependency{\nhostgroup_name hg-ab\nservice_description X\ndependent_service_description *,!X\nnotification_failure_criteria w,c\ninherits_parent 1\n}\n" +
		"define hostdependency{\nhost_name A\ndependent_host_name B,C\nexecution_failure_criteria d,o\n}\n"))
	f.Add([]byte(snippetBase + "define serviceescalation{\nhost_name A\nservice_description *\nfirst_notification 3\nlast_notification 5\ncontacts bob\nescalation_options w,r\n}\n" +
		"define hostextinfo{\nhostgroup_name hg-ab\nnotes_url http://x/$HOSTNAME$\n2d_coords 1,2\n}\n"))
	f.Add([]byte(snippetBase + "define servicegroup{\nservicegroup_name sg\nmembers A,*,B,!X,*,Y web\n}\n"))
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
			res := Convert(c, "fuzz")
			d := xml.NewDecoder(bytes.NewReader(res.XML))
			for {
				if _, err := d.Token(); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("converted XML not well-formed: %v", err)
					}
					break
				}
			}
		}
	})
}
