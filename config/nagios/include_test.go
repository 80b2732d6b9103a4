package nagios

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestIncludeFileAndDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.cfg", "include_file=extra.cfg\ninclude_dir=more\ndefine command {\n command_name a\n command_line /bin/true\n}\n")
	write("extra.cfg", "include_file=main.cfg\ndefine command {\n command_name b\n command_line /bin/true\n}\n")
	write("more/c.cfg", "define command {\n command_name c\n command_line /bin/true\n}\n")
	write("more/ignored.txt", "define command {\n command_name d\n command_line /bin/true\n}\n")
	objs, err := ParseFile(context.Background(), filepath.Join(dir, "main.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range objs {
		got[o.Attrs["command_name"].Value] = true
	}
	if len(objs) != 3 || !got["a"] || !got["b"] || !got["c"] {
		t.Fatalf("want commands a, b, c once each (loop and .txt ignored), got %d objects: %v", len(objs), got)
	}
	write("bad.cfg", "include_file=missing.cfg\n")
	if _, err := ParseFile(context.Background(), filepath.Join(dir, "bad.cfg")); err == nil {
		t.Fatal("a missing include must be an error naming it")
	}
}
