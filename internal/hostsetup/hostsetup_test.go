package hostsetup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBlockedParent(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(root, "private")
	data := filepath.Join(private, "data", "postgres")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if p, _, err := BlockedParent(data); err != nil || p != "" && p != filepath.Dir(root) && !isAncestor(p, root) {
		t.Fatalf("open tree: blocked %q, %v", p, err)
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	p, mode, err := BlockedParent(data)
	if err != nil || p != private || mode != 0o700 {
		t.Fatalf("BlockedParent = %q %v %v, want %s 0700", p, mode, err, private)
	}
}

// isAncestor reports whether p is above dir (a parent outside the test's
// control, such as a private /tmp, may block too).
func isAncestor(p, dir string) bool {
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if d == p {
			return true
		}
	}
	return p == "/"
}
