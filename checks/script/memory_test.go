package script

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// bombEnv carries a script to TestAllocationBombChild.
const bombEnv = "BERGAMOT_TEST_ALLOCATION_BOMB"

// TestAllocationBombChild runs one script from bombEnv in this process,
// which TestAllocationBombsEndWithError started, and prints its result as
// JSON. The address space is capped at 2 GiB so an unguarded huge
// allocation fails at once ("fatal error: runtime: out of memory") instead
// of leaning on the shared machine's memory.
func TestAllocationBombChild(t *testing.T) {
	src := os.Getenv(bombEnv)
	if src == "" {
		t.Skip("run by TestAllocationBombsEndWithError")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30}); err != nil {
		t.Fatal(err)
	}
	res := run(t, New(Options{}), src, nil, 20*time.Second)
	out, _ := json.Marshal(res)
	os.Stdout.Write(append([]byte("RESULT "), append(out, '\n')...))
}

// TestAllocationBombsEndWithError: a script that asks for a huge string,
// array or buffer in one call ends with ERROR "script exceeded its memory
// limit" and the process lives on. Before the guards, 'x'.repeat(1e11)
// made Go exit with "fatal error: runtime: out of memory", taking the
// worker (and under bergamot run, the API, scheduler and processor) down.
// Each bomb runs in a child process so this test survives without the fix.
func TestAllocationBombsEndWithError(t *testing.T) {
	bombs := map[string]string{
		"repeat":                `bergamot.ok('x'.repeat(1e11).length)`,
		"repeat caught":         `try { 'x'.repeat(1e11); } catch (e) {} bergamot.ok('survived')`,
		"padStart":              `bergamot.ok(''.padStart(1e11, 'ab').length)`,
		"padEnd":                `bergamot.ok('a'.padEnd(5e10).length)`,
		"join":                  `bergamot.ok(new Array(4e9).join('abcdefgh').length)`,
		"fill":                  `bergamot.ok(new Array(4e9).fill(0).length)`,
		"Array.from":            `bergamot.ok(Array.from({length: 4e9}).length)`,
		"apply":                 `bergamot.ok(Math.max.apply(null, {length: 4e9}))`,
		"Reflect.apply":         `bergamot.ok(Reflect.apply(Math.max, null, {length: 4e9}))`,
		"ArrayBuffer":           `bergamot.ok(new ArrayBuffer(1e11).byteLength)`,
		"typed array":           `bergamot.ok(new Float64Array(2e10).length)`,
		"typed array from":      `bergamot.ok(Uint8Array.from({length: 1e11}).length)`,
		"constructor back door": `bergamot.ok(new (new Uint8Array(1).constructor)(1e11).length)`,
		"last statement":        `bergamot.ok('x'); 'x'.repeat(1e11)`,
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range bombs {
		t.Run(name, func(t *testing.T) {
			// One at a time, each bounded: without the guards some bombs
			// grow in a loop inside Go until the child's 2 GiB are gone.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "-test.run=^TestAllocationBombChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), bombEnv+"="+src)
			out, err := cmd.CombinedOutput()
			if err != nil {
				fatal, _, _ := strings.Cut(string(out), "\n\n")
				t.Fatalf("the process running %q died (%v):\n%s", src, err, tail(fatal, 300))
			}
			_, line, ok := strings.Cut(string(out), "RESULT ")
			var res checks.Result
			if !ok || json.Unmarshal([]byte(strings.SplitN(line, "\n", 2)[0]), &res) != nil {
				t.Fatalf("no result from the child:\n%s", tail(string(out), 600))
			}
			if res.Status != checks.StatusError || !strings.HasPrefix(res.Output, MemoryLimitExceeded+": ") {
				t.Fatalf("%s: got %s %q; want ERROR %q", src, res.Status, res.Output, MemoryLimitExceeded)
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestGuardedBuiltinsStillWork: the guards pass ordinary calls through.
func TestGuardedBuiltinsStillWork(t *testing.T) {
	res := run(t, New(Options{}), `
		var parts = ['ab'.repeat(3), '7'.padStart(3, '0'), 'x'.padEnd(3, '.'), [1, 2, 3].join('-'), [0, 0].fill(4).join(''),
			Array.from('abc').length, Math.max.apply(null, [1, 5, 2]), Reflect.apply(Math.min, null, [4, 3]),
			new Uint8Array([1, 2, 3]).length, new Uint8Array(4) instanceof Uint8Array, new ArrayBuffer(8).byteLength,
			Uint8Array.from([9, 8]).length, new Float64Array(new ArrayBuffer(16)).length, String.prototype.repeat.name,
			Object.keys(String.prototype).length];
		bergamot.ok(parts.join(' '));`, nil, 10*time.Second)
	if want := "ababab 007 x.. 1-2-3 44 3 5 3 3 true 8 2 2 repeat 0"; res.Status != checks.StatusOK || res.Output != want {
		t.Fatalf("got %s %q, want OK %q", res.Status, res.Output, want)
	}
}
