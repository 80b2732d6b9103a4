package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// nested returns a document n elements deep, about size bytes when padded.
func nested(n int) string {
	return "<bergamot>" + strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + "</bergamot>"
}

func TestParseRefusesDeepWideAndLargeDocuments(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"deep", nested(8 << 20 / 7), "nested too deep: at most 32 levels"},
		{"wide", "<bergamot>" + strings.Repeat("<a/>", MaxXMLElements+1) + "</bergamot>", "too many elements: a document may have at most 500000"},
		{"large", "<bergamot><summary>" + strings.Repeat("x", MaxXMLBytes) + "</summary></bergamot>", "larger than 33554432 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("big.xml", strings.NewReader(c.doc))
			took := time.Since(start)
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Message, c.want) {
				t.Fatalf("Parse = %v, want one error containing %q", err, c.want)
			}
			if list[0].File != "big.xml" || list[0].Line < 1 {
				t.Errorf("error not located: %+v", list[0])
			}
			t.Logf("refused in %v: %v", took, err)
		})
	}
	// The deepest allowed nesting still parses (and then fails only on schema).
	_, err := Parse("ok.xml", strings.NewReader(nested(MaxXMLDepth-1)))
	if err != nil && strings.Contains(err.Error(), "nested too deep") {
		t.Fatalf("depth %d refused: %v", 31, err)
	}
}

// The deep case is the attack from the security review: it must be cheap.
func TestParseDeepDocumentIsCheap(t *testing.T) {
	doc := nested(8 << 20 / 7)
	start := time.Now()
	_, _ = Parse("deep.xml", strings.NewReader(doc))
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("refusing an 8 MB nested document took %v, want well under 100ms", took)
	}
}
