package nagios

import (
	"fmt"
	"strings"
)

// expandUserMacros replaces $USERn$ macros: $USER1$ is the plugin directory
// unless the request has a parameter USER1; other $USERn$ come from
// parameters of that name. An undefined macro is an error naming it.
func expandUserMacros(cmdline, pluginDir string, param func(string) string) (string, error) {
	if !strings.Contains(cmdline, "$USER") {
		return cmdline, nil
	}
	var b strings.Builder
	rest := cmdline
	for {
		i := strings.Index(rest, "$USER")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := i + len("$USER")
		k := j
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		if k == j || k >= len(rest) || rest[k] != '$' {
			// Not a macro ("$USERNAME" for the shell): keep it as it is.
			b.WriteString(rest[:j])
			rest = rest[j:]
			continue
		}
		name := rest[i+1 : k]
		val := param(name)
		if val == "" && name == "USER1" {
			val = pluginDir
		}
		if val == "" {
			return "", fmt.Errorf("command line uses $%s$, which is not defined (set parameter %s; $USER1$ is the plugin directory)", name, name)
		}
		b.WriteString(rest[:i])
		b.WriteString(val)
		rest = rest[k+1:]
	}
}

// splitCommandLine splits a command line into arguments the way a POSIX
// shell would for simple commands: whitespace separates words, '...' is
// literal, "..." is literal except for \" \\ \$ \`, and a backslash outside
// quotes escapes the next character. needShell is true when the line uses
// anything only a shell can do (pipes, redirections, lists, variables,
// command substitution, globs, ~, comments, assignments); the caller then
// runs it under /bin/sh -c. An unterminated quote is an error.
func splitCommandLine(s string) (args []string, needShell bool, err error) {
	var (
		word    strings.Builder
		inWord  bool
		quote   byte // 0, '\'' or '"'
		quoteAt int
	)
	endWord := func() {
		if inWord {
			args = append(args, word.String())
			word.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch quote {
		case '\'':
			if c == '\'' {
				quote = 0
			} else {
				word.WriteByte(c)
			}
			continue
		case '"':
			switch {
			case c == '"':
				quote = 0
			case c == '$' || c == '`':
				needShell = true
				word.WriteByte(c)
			case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
				i++
				word.WriteByte(s[i])
			default:
				word.WriteByte(c)
			}
			continue
		}
		switch c {
		case ' ', '\t':
			endWord()
		case '\'', '"':
			quote, quoteAt, inWord = c, i, true
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				word.WriteByte(s[i])
			}
		case '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', '\n', '\r', '{', '}':
			needShell = true
			inWord = true
			word.WriteByte(c)
		case '~', '#':
			if !inWord {
				needShell = true
			}
			inWord = true
			word.WriteByte(c)
		case '=':
			if len(args) == 0 {
				needShell = true // VAR=value command
			}
			inWord = true
			word.WriteByte(c)
		default:
			inWord = true
			word.WriteByte(c)
		}
	}
	if quote != 0 {
		return nil, false, fmt.Errorf("unterminated %c quote at byte %d of the command line", quote, quoteAt+1)
	}
	endWord()
	if len(args) == 0 {
		return nil, false, fmt.Errorf("empty command line")
	}
	return args, needShell, nil
}
