package snmp

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// IF-MIB objects.
const (
	oidIfDescr      = "1.3.6.1.2.1.2.2.1.2"
	oidIfOperStatus = "1.3.6.1.2.1.2.2.1.8"
	oidIfInOctets   = "1.3.6.1.2.1.2.2.1.10"
	oidIfOutOctets  = "1.3.6.1.2.1.2.2.1.16"
	oidIfName       = "1.3.6.1.2.1.31.1.1.1.1"
	oidIfHCIn       = "1.3.6.1.2.1.31.1.1.1.6"
	oidIfHCOut      = "1.3.6.1.2.1.31.1.1.1.10"
)

// counterSample is one reading of an interface's octet counters.
type counterSample struct {
	at      time.Time
	in, out uint64
	width   uint // 32 or 64 bits
	index   int
}

// CounterDelta is how far a counter of the given width (32 or 64 bits)
// moved from prev to cur, assuming at most one wrap.
func CounterDelta(prev, cur uint64, width uint) uint64 {
	if cur >= prev {
		return cur - prev
	}
	if width >= 64 {
		return math.MaxUint64 - prev + cur + 1
	}
	return (1<<width - prev) + cur
}

// ifIndex resolves the interface parameter: an ifIndex or an ifDescr/ifName.
func ifIndex(g *gosnmp.GoSNMP, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	for _, table := range []string{oidIfName, oidIfDescr} {
		vals, _ := walk(g, table, 10000)
		for _, v := range vals {
			if v.Text == name {
				return strconv.Atoi(v.OID[len(table)+1:])
			}
		}
	}
	return 0, fmt.Errorf("no interface named %q (by ifName or ifDescr)", name)
}

// readCounters reads the 64-bit counters, falling back to 32-bit ones.
func readCounters(g *gosnmp.GoSNMP, idx int) (counterSample, string, error) {
	s := counterSample{at: time.Now(), index: idx, width: 64}
	suffix := "." + strconv.Itoa(idx)
	oper := oidIfOperStatus + suffix
	vals, err := get(g, oidIfHCIn+suffix, oidIfHCOut+suffix, oper)
	if err != nil || g.Version == gosnmp.Version1 {
		s.width = 32
		if vals, err = get(g, oidIfInOctets+suffix, oidIfOutOctets+suffix, oper); err != nil {
			return s, "", err
		}
	}
	if vals[0].Number == nil || vals[1].Number == nil {
		return s, "", fmt.Errorf("interface %d: counters are not numbers", idx)
	}
	s.in, s.out = vals[0].Number.Uint64(), vals[1].Number.Uint64()
	status := map[string]string{"1": "up", "2": "down", "3": "testing", "5": "dormant", "6": "notPresent", "7": "lowerLayerDown"}[vals[2].Text]
	if status == "" {
		status = "unknown"
	}
	return s, status, nil
}

// execInterface reports interface traffic in bits per second from the
// change in octet counters since the previous run of the same check.
// warning/critical apply to the larger of the in and out rates (bit/s).
func (e *Engine) execInterface(ctx context.Context, g *gosnmp.GoSNMP, req *checks.Request) (*checks.Result, error) {
	name := param(req, "", "interface", "interface-name")
	if name == "" {
		return &checks.Result{Status: checks.StatusError, Output: `parameter "interface" is required (an ifIndex or interface name)`}, nil
	}
	idx, err := ifIndex(g, name)
	if err != nil {
		return nil, err
	}
	cur, oper, err := readCounters(g, idx)
	if err != nil {
		return nil, err
	}
	key := req.CheckID + "\x00" + name
	e.mu.Lock()
	prev, seen := e.samples[key]
	e.samples[key] = cur
	e.mu.Unlock()
	if oper != "up" {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s is %s", name, oper)}, nil
	}
	secs := cur.at.Sub(prev.at).Seconds()
	if !seen || prev.width != cur.width || prev.index != idx || secs <= 0 {
		return &checks.Result{Status: checks.StatusInfo, Output: fmt.Sprintf("%s is up; first counter sample taken, rates follow on the next run", name)}, nil
	}
	in := float64(CounterDelta(prev.in, cur.in, cur.width)) * 8 / secs
	out := float64(CounterDelta(prev.out, cur.out, cur.width)) * 8 / secs
	warn, crit := param(req, "", "warning"), param(req, "", "critical")
	status, err := threshold(math.Max(in, out), warn, crit, false)
	if err != nil {
		return misconfigured(err), nil
	}
	return &checks.Result{Status: status,
		Output: fmt.Sprintf("%s is up: in %s, out %s", name, bitRate(in), bitRate(out)),
		Perfdata: []checks.Perfdata{
			{Label: "in", Value: &in, Warn: warn, Crit: crit},
			{Label: "out", Value: &out, Warn: warn, Crit: crit},
		}}, nil
}

// bitRate formats bits per second with an SI prefix.
func bitRate(v float64) string {
	for _, u := range []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s"} {
		if v < 1000 {
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1000
	}
	return fmt.Sprintf("%.1f Tbit/s", v)
}
