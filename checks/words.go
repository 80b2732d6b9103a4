package checks

import "fmt"

// SplitWords splits s into words the way nagios4 splits a command line
// after expanding its macros (and as a POSIX shell does for simple
// words): spaces and tabs separate words, '...' is literal, "..." is
// literal except for \" \\ \$ and \`, and a backslash outside quotes
// escapes the next character. An unterminated quote is an error naming
// where it starts. The nrpe engine's "args_line" uses it, so that an
// imported `check_nrpe -a $ARG2$` whose value has spaces sends the words
// as separate NRPE arguments, as nagios4 and check_nrpe do.
func SplitWords(s string) ([]string, error) {
	var (
		words   []string
		word    []byte
		inWord  bool
		quote   byte
		quoteAt int
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch quote {
		case '\'':
			if c == '\'' {
				quote = 0
			} else {
				word = append(word, c)
			}
			continue
		case '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == '$' || s[i+1] == '`'):
				i++
				word = append(word, s[i])
			default:
				word = append(word, c)
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, string(word))
				word, inWord = word[:0], false
			}
		case '\'', '"':
			quote, quoteAt, inWord = c, i, true
		case '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				word = append(word, s[i])
			}
		default:
			inWord = true
			word = append(word, c)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote at byte %d of %q", quote, quoteAt+1, s)
	}
	if inWord {
		words = append(words, string(word))
	}
	return words, nil
}
