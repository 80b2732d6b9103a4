// Package lattrace times results on their way through the pipeline, for
// the subscription latency benchmark (graph's BenchmarkSubscriptionLatency).
// Its load client feeds results whose output is "bench <unix-ns> <seq>";
// each stage that sees such a result records how long ago that stamp was
// taken, so the benchmark can say where the time went (claimed by the
// processor, committed, re-read by the hub, written to the WebSocket...).
// Stages may also record plain durations (Add).
//
// It is off unless a benchmark turns it on: then every probe is one atomic
// load.
package lattrace

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	on      atomic.Bool
	mu      sync.Mutex
	samples = map[string][]time.Duration{}
)

// Enabled reports whether probes record.
func Enabled() bool { return on.Load() }

// Start drops earlier samples and turns probes on.
func Start() {
	mu.Lock()
	samples = map[string][]time.Duration{}
	mu.Unlock()
	on.Store(true)
}

// Stop turns probes off; the samples stay for Report.
func Stop() { on.Store(false) }

// Stamp records, for stage, the time since the stamp in a benchmark
// result's output ("bench <unix-ns> <seq>"); other outputs are ignored.
func Stamp(stage, output string) {
	if !on.Load() {
		return
	}
	rest, ok := strings.CutPrefix(output, "bench ")
	if !ok {
		return
	}
	stamp, _, _ := strings.Cut(rest, " ")
	ns, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return
	}
	Add(stage, time.Since(time.Unix(0, ns)))
}

// Add records d for stage.
func Add(stage string, d time.Duration) {
	if !on.Load() {
		return
	}
	mu.Lock()
	samples[stage] = append(samples[stage], d)
	mu.Unlock()
}

// Report is one line per stage, in name order: count, p50, p90, p99, max.
func Report() string {
	mu.Lock()
	defer mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range samples {
			if !yield(k) {
				return
			}
		}
	}) {
		s := slices.Clone(samples[k])
		slices.Sort(s)
		q := func(p float64) time.Duration {
			return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
		}
		fmt.Fprintf(&b, "%-24s n=%6d  p50 %8v  p90 %8v  p99 %8v  max %8v\n", k, len(s), q(.5), q(.9), q(.99), q(1))
	}
	return b.String()
}
