package http

import "testing"

func FuzzParseStatusSet(f *testing.F) {
	for _, s := range []string{"200,301,302,304", "200-299", "2xx,3XX", "", "599-100", "abc", "200-", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseStatusSet(s)
		if err != nil {
			return
		}
		for _, r := range set {
			if r[0] < 100 || r[1] > 599 || r[0] > r[1] {
				t.Fatalf("%q gave bad range %v", s, r)
			}
			if !set.has(r[0]) || !set.has(r[1]) {
				t.Fatalf("%q: set does not hold its own bounds", s)
			}
		}
	})
}

func FuzzCheckJSON(f *testing.F) {
	f.Add(`{"a":{"b":[1,{"c":"x"}]}}`, "a.b.1.c", "x")
	f.Add(`[1,2]`, "$.1", "2")
	f.Add(`nope`, "a", "")
	f.Fuzz(func(t *testing.T, body, path, want string) {
		_ = checkJSON([]byte(body), path, want, want != "")
	})
}
