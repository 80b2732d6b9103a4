// Package enginetest holds what the engines' leak tests and benchmarks
// share: a snapshot of goroutines, file descriptors and heap to compare
// after many runs, and a benchmark loop that reports checks per second and
// CPU per 1,000 checks.
package enginetest

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// LeakRuns is how many checks each engine's leak test runs (per kind of
// check), as issue 24 asks; -short runs fewer.
func LeakRuns() int {
	if testing.Short() {
		return 100
	}
	return 1000
}

// Snapshot is the process's goroutines, open file descriptors and live
// heap at one moment.
type Snapshot struct {
	Goroutines, FDs int
	Heap            uint64
}

// Take returns a snapshot after a garbage collection.
func Take(t testing.TB) Snapshot {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return Snapshot{Goroutines: runtime.NumGoroutine(), FDs: len(ents), Heap: ms.HeapAlloc}
}

func (s Snapshot) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, heap %.1f MiB", s.Goroutines, s.FDs, float64(s.Heap)/(1<<20))
}

// Bounded waits up to 10 s for the process to come back within slack of
// base (goroutines and fds: slack each; heap: heapSlack bytes more) and
// fails t with both snapshots and the goroutine dump when it does not.
func Bounded(t testing.TB, base Snapshot, runs, slack int, heapSlack uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var now Snapshot
	for {
		now = Take(t)
		ok := now.Goroutines <= base.Goroutines+slack && now.FDs <= base.FDs+slack && now.Heap <= base.Heap+heapSlack
		if ok {
			t.Logf("after %d runs: %s (before: %s)", runs, now, base)
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("after %d runs: %s, before: %s (allowed: +%d goroutines and fds, +%.0f MiB heap)\n%s",
		runs, now, base, slack, float64(heapSlack)/(1<<20), buf[:runtime.Stack(buf, true)])
}

// Bench runs check b.N times, 16 at a time, and reports checks/s and the
// process's CPU time per 1,000 checks (the peer's own CPU is not counted).
// Every check must be OK.
func Bench(b *testing.B, check func() (checks.Status, string)) {
	b.Helper()
	start := time.Now()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if st, out := check(); st != checks.StatusOK && st != checks.StatusInfo {
				b.Errorf("status %s %q", st, out)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(b.N), "cpu-ms/1000checks")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
