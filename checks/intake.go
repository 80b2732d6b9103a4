package checks

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits bound what one result may hold when it enters Bergamot. Every
// intake (passive results through GraphQL, REST and the Icinga 2 endpoint,
// SNMP traps, a worker's hand-back, the watchdog and freshness checks)
// passes its results through Limits.Normalize before they are stored, so
// no result can hold something PostgreSQL refuses (a NUL byte, invalid
// UTF-8, a perfdata label too long for the metrics index) or so much that
// one sender fills the database. Sizes are in bytes of UTF-8.
type Limits struct {
	// Output bounds the status line (default 8 KiB).
	Output int
	// LongOutput bounds the long output (default 64 KiB).
	LongOutput int
	// PerfItems is the most perfdata items kept (default 200).
	PerfItems int
	// Label bounds a perfdata label (default 255); an item with a longer
	// label is dropped (the metrics index cannot hold ~2.7 KB labels).
	Label int
	// UOM bounds a perfdata unit (default 32); an item with a longer unit
	// is dropped.
	UOM int
	// Threshold bounds a warn or crit range (default 64); a longer one is
	// cleared.
	Threshold int
	// Source bounds the worker / passive source name (default 255).
	Source int
	// Warnings is the most perfdata warnings kept (default 32), each cut at
	// Output bytes.
	Warnings int
	// Total bounds the whole result (default 256 KiB): past it, the long
	// output is cut, then perfdata items are dropped from the end.
	Total int
}

// DefaultLimits are the limits Bergamot applies unless the operator sets
// others (see docs/limits.md).
var DefaultLimits = Limits{Output: 8 << 10, LongOutput: 64 << 10, PerfItems: 200, Label: 255, UOM: 32, Threshold: 64,
	Source: 255, Warnings: 32, Total: 256 << 10}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{Output: pick(l.Output, d.Output), LongOutput: pick(l.LongOutput, d.LongOutput), PerfItems: pick(l.PerfItems, d.PerfItems),
		Label: pick(l.Label, d.Label), UOM: pick(l.UOM, d.UOM), Threshold: pick(l.Threshold, d.Threshold), Source: pick(l.Source, d.Source),
		Warnings: pick(l.Warnings, d.Warnings), Total: pick(l.Total, d.Total)}
}

// perfItemOverhead approximates what an item costs beyond its strings
// (numbers and JSON punctuation), for the Total bound.
const perfItemOverhead = 64

// Normalize makes r safe to store and bounded, in place: every string
// becomes valid UTF-8 without NUL bytes (each bad byte becomes U+FFFD),
// fields over their limit are cut at a character boundary with a note
// saying how much was cut, perfdata items that cannot be kept are dropped
// with a warning in PerfdataWarnings, numbers that are not finite are
// removed, and an unknown status becomes ERROR. It never fails; it
// returns true when it changed anything.
func (l Limits) Normalize(r *Result) bool {
	l = l.withDefaults()
	n := &normalizer{}
	if r.Status < 0 || int(r.Status) >= len(statusNames) {
		n.changed = true
		r.Output = fmt.Sprintf("result with an unknown status (%d): %s", int(r.Status), r.Output)
		r.Status = StatusError
	}
	r.Output = n.field(r.Output, l.Output, "output")
	r.LongOutput = n.field(r.LongOutput, l.LongOutput, "long output")
	r.Worker = n.field(r.Worker, l.Source, "source")
	if r.Runtime < 0 {
		r.Runtime, n.changed = 0, true
	}
	var warns []string
	kept := r.Perfdata[:0:0]
	for i, p := range r.Perfdata {
		if len(kept) == l.PerfItems {
			warns = append(warns, fmt.Sprintf("%d perfdata items dropped: at most %d are kept", len(r.Perfdata)-i, l.PerfItems))
			break
		}
		p.Label, p.UOM = n.clean(p.Label), n.clean(p.UOM)
		if len(p.Label) > l.Label {
			warns = append(warns, fmt.Sprintf("perfdata item %q dropped: its label is %d bytes, the limit is %d",
				cut(p.Label, 40)+"...", len(p.Label), l.Label))
			continue
		}
		if len(p.UOM) > l.UOM {
			warns = append(warns, fmt.Sprintf("perfdata item %q dropped: its unit is %d bytes, the limit is %d", p.Label, len(p.UOM), l.UOM))
			continue
		}
		p.Warn = n.threshold(p.Warn, l.Threshold, "warn", p.Label, &warns)
		p.Crit = n.threshold(p.Crit, l.Threshold, "crit", p.Label, &warns)
		p.Value = n.finite(p.Value, "value", p.Label, &warns)
		p.Min = n.finite(p.Min, "min", p.Label, &warns)
		p.Max = n.finite(p.Max, "max", p.Label, &warns)
		kept = append(kept, p)
	}
	if len(kept) != len(r.Perfdata) {
		n.changed = true
	}
	r.Perfdata = kept
	if len(r.Perfdata) == 0 {
		r.Perfdata = nil
	}
	// Total: cut the long output first, then drop items from the end.
	size := len(r.Output) + len(r.LongOutput) + len(r.Worker)
	for _, p := range r.Perfdata {
		size += perfItemOverhead + len(p.Label) + len(p.UOM) + len(p.Warn) + len(p.Crit)
	}
	if over := size - l.Total; over > 0 && r.LongOutput != "" {
		note := fmt.Sprintf("\n[long output cut: the result is over its %d-byte limit]", l.Total)
		orig := r.LongOutput
		keep := max(len(orig)-over-len(note), 0)
		r.LongOutput = cut(strings.TrimSuffix(orig, note), keep) + note // already cut once: cut what precedes the note
		size += len(r.LongOutput) - len(orig)
		if r.LongOutput != orig {
			n.changed = true
		}
	}
	if size > l.Total && len(r.Perfdata) > 0 {
		dropped := 0
		for size > l.Total && len(r.Perfdata) > 0 {
			p := r.Perfdata[len(r.Perfdata)-1]
			size -= perfItemOverhead + len(p.Label) + len(p.UOM) + len(p.Warn) + len(p.Crit)
			r.Perfdata = r.Perfdata[:len(r.Perfdata)-1]
			dropped++
		}
		warns = append(warns, fmt.Sprintf("%d perfdata items dropped: the result is over its %d-byte limit", dropped, l.Total))
		n.changed = true
	}
	// Warnings: the parser's, then ours, bounded.
	all := slices.Concat(r.PerfdataWarnings, warns)
	if len(all) > l.Warnings {
		all = append(all[:l.Warnings-1], fmt.Sprintf("%d more perfdata warnings not shown", len(all)-l.Warnings+1))
		n.changed = true
	}
	for i, w := range all {
		all[i] = n.field(w, l.Output, "warning")
	}
	if len(warns) > 0 {
		n.changed = true
	}
	r.PerfdataWarnings = all
	if len(r.PerfdataWarnings) == 0 {
		r.PerfdataWarnings = nil
	}
	return n.changed
}

// normalizer remembers whether it changed anything.
type normalizer struct{ changed bool }

func (n *normalizer) clean(s string) string {
	c := clean(s)
	if c != s {
		n.changed = true
	}
	return c
}

// field cleans s and cuts it to limit bytes, saying how much was cut.
func (n *normalizer) field(s string, limit int, name string) string {
	s = n.clean(s)
	if len(s) <= limit {
		return s
	}
	n.changed = true
	note := fmt.Sprintf(" [%s cut: %d bytes, the limit is %d]", name, len(s), limit)
	if len(note) > limit/2 { // a tiny limit: no room to say so
		return cut(s, limit)
	}
	return cut(s, limit-len(note)) + note
}

func (n *normalizer) threshold(s string, limit int, which, label string, warns *[]string) string {
	s = n.clean(s)
	if len(s) > limit {
		*warns = append(*warns, fmt.Sprintf("perfdata item %q: %s threshold of %d bytes ignored, the limit is %d", label, which, len(s), limit))
		return ""
	}
	return s
}

func (n *normalizer) finite(v *float64, which, label string, warns *[]string) *float64 {
	if v == nil || !math.IsNaN(*v) && !math.IsInf(*v, 0) {
		return v
	}
	*warns = append(*warns, fmt.Sprintf("perfdata item %q: %s %v is not a finite number; ignored", label, which, *v))
	return nil
}

// clean returns s as valid UTF-8 without NUL bytes: each invalid byte
// sequence and each NUL becomes U+FFFD.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cut returns at most n bytes of s, ending at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Encode normalises r with l (see Normalize) and encodes it as the JSON
// the result inbox stores. Every intake writes results through it.
func (l Limits) Encode(r *Result) ([]byte, error) {
	l.Normalize(r)
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return body, nil
}
