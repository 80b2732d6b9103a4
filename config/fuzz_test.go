package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: the loader never panics, and anything it accepts exports to XML
// that loads back to the same objects.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	more, _ := filepath.Glob(filepath.Join(base(f), "templates", "*.xml"))
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	// The bounds: just inside and just outside the depth limit.
	for _, n := range []int{MaxXMLDepth - 1, MaxXMLDepth, MaxXMLDepth + 1} {
		f.Add([]byte("<bergamot>" + strings.Repeat("<a>", n-1) + strings.Repeat("</a>", n-1) + "</bergamot>"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("fuzz.xml", bytes.NewReader(data))
		if err != nil {
			return
		}
		_, _ = Resolve(doc)
		out, err := Export(doc, WithSecrets())
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("again.xml", bytes.NewReader(out))
		if err != nil {
			t.Fatalf("export does not re-load: %v\n%s", err, out)
		}
		if d := Diff(doc, again); len(d) != 0 || again.Len() != doc.Len() {
			t.Fatalf("round trip changed %+v\n%s", d, out)
		}
	})
}
