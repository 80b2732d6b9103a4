// Package lattrace times results on their way through the pipeline, for
// the subscription latency benchmark (graph's BenchmarkSubscriptionLatency).
//
// The pipeline's stages (the result processor, the live-update hub, the
// GraphQL subscriptions and WebSocket writer) each hold an optional Tracer,
// nil in production: a disabled probe is one nil comparison, and nothing
// in the pipeline looks at result outputs for it. The benchmark hands its
// Recorder to apitest, which sets it on every stage. The Recorder reads the
// load client's stamp from each result it is shown: the load client feeds
// results whose output is "bench <unix-ns> <seq>", and the Recorder records,
// per stage, how long ago that stamp was taken, so the benchmark can say
// where the time went (claimed by the processor, committed, re-read by the
// hub, written to the WebSocket...). Stages also record plain durations of
// single steps (Add).
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

// Tracer is told when results pass a stage of the pipeline. A stage holds
// one only when a benchmark sets it; production leaves it nil.
type Tracer interface {
	// Stamp says that a result reached stage; text is its output, or a
	// message that carries it (the WebSocket frame).
	Stamp(stage, text string)
	// Add says that one step of stage took d.
	Add(stage string, d time.Duration)
}

// Recorder is the benchmark's Tracer: it keeps samples between Start and
// Stop and reports their quantiles.
type Recorder struct {
	on      atomic.Bool
	mu      sync.Mutex
	samples map[string][]time.Duration
}

var _ Tracer = (*Recorder)(nil)

// Start drops earlier samples and starts recording.
func (r *Recorder) Start() {
	r.mu.Lock()
	r.samples = map[string][]time.Duration{}
	r.mu.Unlock()
	r.on.Store(true)
}

// Stop stops recording; the samples stay for Report.
func (r *Recorder) Stop() { r.on.Store(false) }

// marker starts a benchmark result's output: "bench <unix-ns> <seq>".
const marker = "bench "

// Stamp records, for stage, the time since the stamp of the benchmark
// output in text ("bench <unix-ns> <seq>", at its start or inside a
// message); text without one is ignored.
func (r *Recorder) Stamp(stage, text string) {
	if !r.on.Load() {
		return
	}
	i := strings.Index(text, marker)
	if i < 0 {
		return
	}
	rest := text[i+len(marker):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	ns, err := strconv.ParseInt(rest[:end], 10, 64)
	if err != nil {
		return
	}
	r.Add(stage, time.Since(time.Unix(0, ns)))
}

// Add records d for stage.
func (r *Recorder) Add(stage string, d time.Duration) {
	if !r.on.Load() {
		return
	}
	r.mu.Lock()
	r.samples[stage] = append(r.samples[stage], d)
	r.mu.Unlock()
}

// Report is one line per stage, in name order: count, p50, p90, p99, max.
func (r *Recorder) Report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.samples {
			if !yield(k) {
				return
			}
		}
	}) {
		s := slices.Clone(r.samples[k])
		slices.Sort(s)
		q := func(p float64) time.Duration {
			return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
		}
		fmt.Fprintf(&b, "%-24s n=%6d  p50 %8v  p90 %8v  p99 %8v  max %8v\n", k, len(s), q(.5), q(.9), q(.99), q(1))
	}
	return b.String()
}
