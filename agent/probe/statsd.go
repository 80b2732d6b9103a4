package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/wire"
)

// DefaultStatsdListen is where the agent receives statsd metrics unless
// told otherwise (--statsd-listen): loopback only, the usual statsd port.
const DefaultStatsdListen = "127.0.0.1:8125"

// ProcessedMetric is the agent's own meter of the statsd metrics it has
// processed (the stock check-agent-metric-rate command reads its meanRate).
const ProcessedMetric = "agent.statsd.metrics.processed"

// Limits of the statsd collector.
const (
	maxStatsdName    = 200
	maxStatsdMetrics = 10000 // distinct names held at once
	reservoirSize    = 1028  // the last values a timer or histogram keeps
	maxSetMembers    = 10000
)

// Sample is one statsd line: name:value|type[|@rate][|#tags].
type Sample struct {
	Name string
	// Value is the number; Member the raw text of a set's value.
	Value  float64
	Member string
	// Type is c (counter), g (gauge), ms (timer), h (histogram), s (set)
	// or m (meter).
	Type string
	// Relative is a gauge change (+N or -N) rather than a new value.
	Relative bool
	// Rate is the sample rate (1 when absent).
	Rate float64
}

// ParseStatsd reads one statsd line. The error names what is wrong.
func ParseStatsd(line string) (Sample, error) {
	var s Sample
	name, rest, ok := strings.Cut(line, ":")
	if !ok {
		return s, fmt.Errorf("statsd line %q: no ':' after the metric name", clip(line))
	}
	if name == "" || len(name) > maxStatsdName || strings.ContainsAny(name, " \t|#@") {
		return s, fmt.Errorf("statsd line %q: metric name must be 1 to %d bytes without spaces, '|', '#' or '@'", clip(line), maxStatsdName)
	}
	fields := strings.Split(rest, "|")
	if len(fields) < 2 {
		return s, fmt.Errorf("statsd line %q: no '|type' after the value", clip(line))
	}
	s.Name, s.Type, s.Rate = name, fields[1], 1
	switch s.Type {
	case "c", "g", "ms", "h", "s", "m":
	default:
		return s, fmt.Errorf("statsd line %q: unknown type %q (want c, g, ms, h, s or m)", clip(line), s.Type)
	}
	val := fields[0]
	if s.Type == "s" {
		if val == "" {
			return s, fmt.Errorf("statsd line %q: empty set member", clip(line))
		}
		s.Member = val
	} else {
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return s, fmt.Errorf("statsd line %q: value %q is not a number", clip(line), clip(val))
		}
		s.Value = v
		s.Relative = s.Type == "g" && (strings.HasPrefix(val, "+") || strings.HasPrefix(val, "-"))
	}
	for _, f := range fields[2:] {
		switch {
		case strings.HasPrefix(f, "@"):
			r, err := strconv.ParseFloat(f[1:], 64)
			if err != nil || !(r > 0 && r <= 1) {
				return s, fmt.Errorf("statsd line %q: sample rate %q must be a number in (0, 1]", clip(line), clip(f))
			}
			s.Rate = r
		case strings.HasPrefix(f, "#"): // tags: accepted, not kept
		default:
			return s, fmt.Errorf("statsd line %q: unknown field %q", clip(line), clip(f))
		}
	}
	return s, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Statsd receives statsd metrics on UDP and aggregates them the way
// Bergamot's agent did: counters and meters are meters (a count, a mean
// rate and 1, 5 and 15 minute moving rates), timers and histograms keep
// the distribution of their last 1028 values, gauges a value, sets their
// distinct members. A metric not updated for Stale is dropped.
type Statsd struct {
	// Stale is how long a metric lives without an update (default 1h).
	Stale time.Duration
	// Logger gets a debug record per bad line.
	Logger *slog.Logger

	mu        sync.Mutex
	now       func() time.Time
	metrics   map[string]*aggregate
	processed *meter
	addr      string
	err       error
	bad       int64
}

// NewStatsd returns an empty collector.
func NewStatsd() *Statsd {
	s := &Statsd{now: time.Now, metrics: map[string]*aggregate{}}
	s.processed = newMeter(s.now())
	return s
}

// Listen receives statsd packets on the UDP address addr until ctx ends.
// It returns the address bound (addr may end in :0).
func (s *Statsd) Listen(ctx context.Context, addr string) (string, error) {
	pc, err := (&net.ListenConfig{}).ListenPacket(ctx, "udp", addr)
	if err != nil {
		s.mu.Lock()
		s.err = fmt.Errorf("listening for statsd on %s: %w", addr, err)
		s.mu.Unlock()
		return "", s.err
	}
	got := pc.LocalAddr().String()
	s.mu.Lock()
	s.addr, s.err = got, nil
	s.mu.Unlock()
	context.AfterFunc(ctx, func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					s.logger().WarnContext(ctx, "statsd listener stopped", slog.Any("error", err))
				}
				return
			}
			if _, errs := s.Process(buf[:n]); len(errs) > 0 {
				s.logger().DebugContext(ctx, "bad statsd lines", slog.Any("first", errs[0]), slog.Int("count", len(errs)))
			}
		}
	}()
	return got, nil
}

func (s *Statsd) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Process applies one packet (lines separated by newlines) and returns
// how many metrics it applied and the errors of the lines it refused.
func (s *Statsd) Process(packet []byte) (int, []error) {
	var errs []error
	n := 0
	for _, line := range strings.Split(string(packet), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		sm, err := ParseStatsd(line)
		if err == nil {
			err = s.apply(sm)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	s.mu.Lock()
	s.bad += int64(len(errs))
	s.mu.Unlock()
	return n, errs
}

func (s *Statsd) apply(sm Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	kind := map[string]string{"c": wire.MetricMeter, "m": wire.MetricMeter, "g": wire.MetricGauge, "ms": wire.MetricTimer,
		"h": wire.MetricHistogram, "s": wire.MetricSet}[sm.Type]
	a := s.metrics[sm.Name]
	if a != nil && a.kind != kind {
		return fmt.Errorf("statsd metric %s is a %s; a %s line for it was ignored", sm.Name, a.kind, kind)
	}
	if a == nil {
		if len(s.metrics) >= maxStatsdMetrics {
			return fmt.Errorf("statsd metric %s: the agent already holds %d metrics", sm.Name, maxStatsdMetrics)
		}
		a = &aggregate{kind: kind}
		switch kind {
		case wire.MetricMeter:
			a.meter = newMeter(now)
		case wire.MetricSet:
			a.members = map[string]struct{}{}
		}
		s.metrics[sm.Name] = a
	}
	a.updated = now
	switch kind {
	case wire.MetricMeter:
		a.meter.mark(now, int64(math.Round(sm.Value/sm.Rate)))
	case wire.MetricGauge:
		if sm.Relative {
			a.value += sm.Value
		} else {
			a.value = sm.Value
		}
	case wire.MetricTimer, wire.MetricHistogram:
		a.count++
		if len(a.values) < reservoirSize {
			a.values = append(a.values, sm.Value)
		} else {
			a.values[a.next] = sm.Value
		}
		a.next = (a.next + 1) % reservoirSize
	case wire.MetricSet:
		if len(a.members) < maxSetMembers {
			a.members[sm.Member] = struct{}{}
		}
	}
	s.processed.mark(now, 1)
	return nil
}

// expire drops stale metrics. Callers hold mu.
func (s *Statsd) expire(now time.Time) {
	stale := s.Stale
	if stale <= 0 {
		stale = time.Hour
	}
	for name, a := range s.metrics {
		if now.Sub(a.updated) > stale {
			delete(s.metrics, name)
		}
	}
}

// Snapshot returns the metrics whose name (without its source, the part
// before the first dot, when strip is set) filter matches whole, sorted by
// name, the agent's own ProcessedMetric among them.
func (s *Statsd) Snapshot(filter *regexp.Regexp, strip bool) []wire.Metric {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	var out []wire.Metric
	add := func(name string, a *aggregate) {
		if strip {
			if _, rest, ok := strings.Cut(name, "."); ok {
				name = rest
			}
		}
		if filter != nil && !fullMatch(filter, name) {
			return
		}
		out = append(out, a.reading(name, now))
	}
	add(ProcessedMetric, &aggregate{kind: wire.MetricMeter, meter: s.processed})
	for name, a := range s.metrics {
		add(name, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > wire.MaxMetrics {
		out = out[:wire.MaxMetrics]
	}
	return out
}

func fullMatch(re *regexp.Regexp, s string) bool {
	loc := re.FindStringIndex(s)
	return loc != nil && loc[0] == 0 && loc[1] == len(s)
}

// Addr is the address the collector listens on, or the error that kept it
// from listening.
func (s *Statsd) Addr() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr, s.err
}

type aggregate struct {
	kind    string
	updated time.Time
	meter   *meter
	value   float64
	count   int64
	values  []float64
	next    int
	members map[string]struct{}
}

func (a *aggregate) reading(name string, now time.Time) wire.Metric {
	m := wire.Metric{Name: name, Type: a.kind}
	switch a.kind {
	case wire.MetricMeter:
		a.meter.tickTo(now)
		m.Count = a.meter.count
		m.Value = float64(a.meter.count)
		if el := now.Sub(a.meter.start).Seconds(); el > 0 {
			m.MeanRate = float64(a.meter.count) / el
		}
		m.OneMinuteRate, m.FiveMinuteRate, m.FifteenMinuteRate = a.meter.rates[0], a.meter.rates[1], a.meter.rates[2]
	case wire.MetricGauge:
		m.Value = a.value
	case wire.MetricTimer, wire.MetricHistogram:
		m.Count = a.count
		vs := slices.Clone(a.values)
		sort.Float64s(vs)
		if len(vs) > 0 {
			m.Min, m.Max = vs[0], vs[len(vs)-1]
			var sum float64
			for _, v := range vs {
				sum += v
			}
			m.Mean = sum / float64(len(vs))
			m.Median, m.P95, m.P99 = quantile(vs, .5), quantile(vs, .95), quantile(vs, .99)
			m.Value = m.Mean
		}
	case wire.MetricSet:
		m.Count = int64(len(a.members))
		m.Value = float64(len(a.members))
	}
	return m
}

func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// meter is a count with exponentially weighted moving rates over 1, 5 and
// 15 minutes, ticked every 5 seconds (the rates Dropwizard Metrics, and so
// Bergamot's Java agent, report).
type meter struct {
	start     time.Time
	lastTick  time.Time
	count     int64
	uncounted int64
	rates     [3]float64
	init      bool
}

const meterTick = 5 * time.Second

var meterAlpha = [3]float64{
	1 - math.Exp(-5.0/60/1), 1 - math.Exp(-5.0/60/5), 1 - math.Exp(-5.0/60/15),
}

func newMeter(now time.Time) *meter { return &meter{start: now, lastTick: now} }

func (m *meter) mark(now time.Time, n int64) {
	m.tickTo(now)
	m.count += n
	m.uncounted += n
}

func (m *meter) tickTo(now time.Time) {
	for ticks := 0; now.Sub(m.lastTick) >= meterTick; ticks++ {
		m.lastTick = m.lastTick.Add(meterTick)
		instant := float64(m.uncounted) / meterTick.Seconds()
		m.uncounted = 0
		for i := range m.rates {
			if m.init {
				m.rates[i] += meterAlpha[i] * (instant - m.rates[i])
			} else {
				m.rates[i] = instant
			}
		}
		m.init = true
		if ticks > 100000 { // idle for a week: the rates have long decayed
			m.lastTick = now
			m.rates = [3]float64{}
		}
	}
}
