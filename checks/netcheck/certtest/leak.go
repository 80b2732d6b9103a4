package certtest

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Baseline records goroutine and open-file counts; Check fails the test if,
// after cleanup and a settling period, there are more than before.
type Baseline struct {
	goroutines, fds int
}

// Snapshot takes a baseline now.
func Snapshot() Baseline { return Baseline{runtime.NumGoroutine(), openFDs()} }

// Check waits up to 3 s for goroutines and file descriptors to return to the
// baseline (plus slack) and fails the test if they do not.
func (b Baseline) Check(t testing.TB, slack int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs()
		if g <= b.goroutines+slack && f <= b.fds+slack {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: goroutines %d -> %d, fds %d -> %d\n%s", b.goroutines, g, b.fds, f, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(ents)
}
