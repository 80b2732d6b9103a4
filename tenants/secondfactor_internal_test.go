package tenants

import (
	"testing"
	"time"
)

// One step of clock skew either way is accepted, two are not, and a step
// at or before the last one accepted is refused (replay).
func TestMatchTOTPSkewAndReplay(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := totpStep(now)
	code := func(d time.Duration) string {
		c, err := TOTPCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name string
		code string
		last int64
		want int64
	}{
		{"current step", code(0), 0, cur},
		{"30s behind (device clock slow)", code(-30 * time.Second), 0, cur - 1},
		{"30s ahead", code(30 * time.Second), 0, cur + 1},
		{"90s behind", code(-90 * time.Second), 0, 0},
		{"90s ahead", code(90 * time.Second), 0, 0},
		{"replay of the step last used", code(0), cur, 0},
		{"older than the step last used", code(-30 * time.Second), cur, 0},
		{"newer than the step last used", code(30 * time.Second), cur, cur + 1},
		{"spaces are ignored", code(0)[:3] + " " + code(0)[3:], 0, cur},
		{"wrong length", "12345", 0, 0},
		{"letters", "abcdef", 0, 0},
	}
	for _, c := range cases {
		if got := matchTOTP(secret, c.code, now, c.last); got != c.want {
			t.Errorf("%s: code %q matched step %d, want %d", c.name, c.code, got, c.want)
		}
	}
}

// Recovery codes: ten, distinct, 80 random bits each, and their stored
// hash ignores case and dashes but depends on the user.
func TestRecoveryCodesShape(t *testing.T) {
	codes, err := newRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || c[4] != '-' || c[9] != '-' || c[14] != '-' || seen[c] {
			t.Fatalf("bad or repeated code %q in %v", c, codes)
		}
		seen[c] = true
	}
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d codes, want %d", len(codes), RecoveryCodeCount)
	}
}
