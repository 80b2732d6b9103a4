package tenants_test

import (
	"testing"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// FuzzCheckPassword: the password rules never panic, and a password they
// accept is not on the common list.
func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"Password123!", "Correct-horse-9", "monkeymonkey", "ß€\x00\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if tenants.CheckPassword(pw) == nil && tenants.IsCommonPassword(pw) {
			t.Fatalf("%q accepted although common", pw)
		}
	})
}
