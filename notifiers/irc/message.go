package irc

import (
	"log/slog"
	"strings"
)

// line is one parsed IRC protocol line.
type line struct {
	prefix  string
	command string
	params  []string
}

// parseLine parses ":prefix COMMAND p1 p2 :trailing" (RFC 1459 / 2812).
// Tags (IRCv3 "@...") are skipped. It never fails: odd input gives empty fields.
func parseLine(raw string) line {
	s := strings.TrimRight(raw, "\r\n")
	var m line
	if strings.HasPrefix(s, "@") {
		_, s, _ = strings.Cut(s, " ")
	}
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, ":") {
		m.prefix, s, _ = strings.Cut(s[1:], " ")
	}
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if strings.HasPrefix(s, ":") {
			m.params = append(m.params, s[1:])
			break
		}
		var p string
		p, s, _ = strings.Cut(s, " ")
		if m.command == "" {
			m.command = strings.ToUpper(p)
		} else {
			m.params = append(m.params, p)
		}
	}
	return m
}

// nick is the nick part of the prefix ("nick!user@host").
func (m line) nick() string {
	n, _, _ := strings.Cut(m.prefix, "!")
	return n
}

func (m line) param(i int) string {
	if i < len(m.params) {
		return m.params[i]
	}
	return ""
}

// trailing is the last parameter.
func (m line) trailing() string {
	if len(m.params) == 0 {
		return ""
	}
	return m.params[len(m.params)-1]
}

func slogAttr(k, v string) slog.Attr { return slog.String(k, v) }
