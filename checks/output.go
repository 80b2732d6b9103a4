package checks

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// NoOutput is the status text Nagios shows when a plugin's first line is empty.
const NoOutput = "(No output returned from plugin)"

// PluginOutput is a plugin's output split the way Nagios Core 4 splits it.
type PluginOutput struct {
	// Status is the first line before its first '|', trimmed of spaces, tabs,
	// CR and LF, with every ';' rewritten to ':' as Nagios does. It is
	// NoOutput when the first line is empty; a first line that has only
	// perfdata ("|a=1") gives an empty Status, as in Nagios.
	Status string
	// LongOutput is lines 2..n up to the first '|' found on one of them,
	// joined with "\n" and not trimmed.
	LongOutput string
	// Perfdata is the raw performance data: everything after the first '|'
	// on line 1, plus what follows the first '|' of the long output and every
	// later line, joined with single spaces and trimmed.
	Perfdata string
}

// whitespace is what Nagios' strip() removes.
const whitespace = " \t\r\n"

// ParsePluginOutput splits plugin output into status text, long output and
// raw perfdata, with Nagios Core 4.4's quirks. Bytes that are not valid
// UTF-8, and NUL bytes, are replaced by U+FFFD so the result can be stored
// and shown anywhere.
func ParsePluginOutput(out []byte) PluginOutput {
	s := sanitize(out)
	s = strings.TrimSuffix(s, "\n") // a trailing newline adds no empty line
	var po PluginOutput
	if s == "" {
		po.Status = NoOutput
		return po
	}
	first, rest, more := strings.Cut(s, "\n")
	if first == "" {
		po.Status = NoOutput
	} else {
		status, perf, _ := strings.Cut(first, "|")
		po.Status = strings.ReplaceAll(strings.Trim(status, whitespace), ";", ":")
		po.Perfdata = perf
	}
	if !more {
		po.Perfdata = strings.Trim(po.Perfdata, whitespace)
		return po
	}
	var long, perf strings.Builder
	perf.WriteString(po.Perfdata)
	inPerf := false
	for i := 0; ; i++ {
		line, next, ok := strings.Cut(rest, "\n")
		switch {
		case inPerf:
			perf.WriteByte(' ')
			perf.WriteString(line)
		default:
			if i > 0 {
				long.WriteByte('\n')
			}
			before, after, found := strings.Cut(line, "|")
			long.WriteString(before)
			if found {
				inPerf = true
				perf.WriteByte(' ')
				perf.WriteString(after)
			}
		}
		if !ok {
			break
		}
		rest = next
	}
	po.LongOutput = long.String()
	po.Perfdata = strings.Trim(perf.String(), whitespace)
	return po
}

// sanitize returns out as a string of valid UTF-8 without NUL bytes.
func sanitize(out []byte) string {
	if utf8.Valid(out) && bytes.IndexByte(out, 0) < 0 {
		return string(out)
	}
	s := strings.ToValidUTF8(string(out), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
