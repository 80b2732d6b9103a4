package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration, located by file, line and object.
type Error struct {
	File    string
	Line    int
	Object  string // e.g. `host "web1"`; empty when the problem is not inside an object
	Message string
	engine  bool // an engine warning, which ReplaceEngineWarnings recomputes
}

// Error formats the problem as `file.xml:12: host "web1": unknown template "foo"`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
		if e.Line > 0 {
			fmt.Fprintf(&b, "%d:", e.Line)
		}
		b.WriteString(" ")
	}
	if e.Object != "" {
		b.WriteString(e.Object)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// ErrorList is every problem found in a configuration. Validation reports all
// of them, not just the first.
type ErrorList []*Error

// Error joins every problem, one per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Err returns nil for an empty list and the sorted, de-duplicated list
// otherwise, so callers can `return list.Err()`.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l.sorted()
}

// sorted sorts l by file and line and drops repeated errors, in place.
func (l ErrorList) sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].File != l[j].File {
			return l[i].File < l[j].File
		}
		return l[i].Line < l[j].Line
	})
	out := l[:0]
	seen := make(map[string]bool, len(l))
	for _, e := range l {
		key := fmt.Sprintf("%s:%d:%s", e.File, e.Line, e.Message)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	return out
}

// errorSink collects errors while walking a configuration.
type errorSink struct {
	list ErrorList
}

func (s *errorSink) add(n *Node, object, format string, args ...any) {
	e := &Error{Object: object, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.File, e.Line = n.File, n.Line
	}
	s.list = append(s.list, e)
}

// objectLabel names an object in error messages: `host "web1"`.
func objectLabel(kind, name string) string {
	if name == "" {
		return kind
	}
	return fmt.Sprintf("%s %q", kind, name)
}
