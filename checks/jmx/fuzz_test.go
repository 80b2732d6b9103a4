package jmx

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		`{"request":{"mbean":"java.lang:type=Memory","attribute":"HeapMemoryUsage","type":"read"},"value":{"init":1,"committed":2,"max":3,"used":1},"timestamp":1,"status":200}`,
		`{"error_type":"javax.management.InstanceNotFoundException","error":"javax.management.InstanceNotFoundException : java.lang:type=Nope","status":404}`,
		`[{"value":1,"status":200},{"status":500,"error":"x"}]`,
		`{"status":200}`, `{"value":3}`, `[]`, `null`, `{"status":"200","value":1}`, "\xff{", `[{"status":200,"value":1}]`,
	} {
		f.Add([]byte(s), 1)
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 1 || n > 8 {
			return
		}
		vals, errs, err := ParseReply(body, n)
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not valid UTF-8: %q", err)
			}
			return
		}
		if len(vals) != n || len(errs) != n {
			t.Fatalf("%d values, %d errors for %d requests", len(vals), len(errs), n)
		}
		for i := range vals {
			if (vals[i] == nil) == (errs[i] == nil) {
				t.Fatalf("request %d: value %q and error %v", i, vals[i], errs[i])
			}
			var je *Error
			if errs[i] != nil && errors.As(errs[i], &je) && (strings.TrimSpace(je.Msg) == "" || !utf8.ValidString(je.Msg)) {
				t.Fatalf("request %d: empty or invalid message %q", i, je.Msg)
			}
		}
	})
}
