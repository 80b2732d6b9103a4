package nagios

import (
	"bytes"
	"context"
	"testing"

	"github.com/bergamot-monitoring/bergamot/config"
)

// TestImportedXMLLoadsInBergamot loads and resolves the converted edge
// configuration with Bergamot's own configuration package.
func TestImportedXMLLoadsInBergamot(t *testing.T) {
	res, err := ImportContext(context.Background(), Options{Site: "edge.example"}, edgeInputs(t, "edge.cfg")...)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := config.Parse("edge.xml", bytes.NewReader(res.XML))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if len(m.Hosts) != 4 {
		t.Errorf("hosts = %d, want 4 (web1, web2, db1, localhost)", len(m.Hosts))
	}
	for _, w := range m.Warnings {
		t.Logf("bergamot warning: %v", w)
	}
}
