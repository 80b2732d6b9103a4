package virtual

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tokEOF    tokKind = iota
	tokWord           // a keyword or status name, lower-cased
	tokString         // a quoted name
	tokUUID           // a bare UUID
	tokNumber         // digits
	tokSym            // punctuation and operators
)

type token struct {
	kind tokKind
	text string // lower-cased for words, unquoted for strings
	pos  int    // 1-based column (in characters)
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of condition"
	case tokString:
		return fmt.Sprintf("name '%s'", t.text)
	case tokUUID:
		return "id " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// symbols, longest first.
var symbols = []string{"&&", "||", "==", "!=", "<=", ">=", "(", ")", "[", "]", ",", "&", "|", "^", "!", "<", ">", "="}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	col := func(i int) int { return utf8.RuneCountInString(src[:i]) + 1 }
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '\'' || r == '"':
			s, n, ok := unquote(src[i:])
			if !ok {
				return nil, &SyntaxError{Column: col(i), Expected: "a closing " + string(r), Found: "end of condition"}
			}
			toks = append(toks, token{tokString, s, col(i)})
			i += n
		case uuidRe.MatchString(src[i:]):
			n := len(uuidRe.FindString(src[i:]))
			toks = append(toks, token{tokUUID, strings.ToLower(src[i : i+n]), col(i)})
			i += n
		case r >= '0' && r <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j], col(i)})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i
			for j < len(src) {
				r2, s2 := utf8.DecodeRuneInString(src[j:])
				if !unicode.IsLetter(r2) && !unicode.IsDigit(r2) && r2 != '_' && r2 != '-' {
					break
				}
				j += s2
			}
			toks = append(toks, token{tokWord, strings.ToLower(src[i:j]), col(i)})
			i = j
		default:
			sym := ""
			for _, s := range symbols {
				if strings.HasPrefix(src[i:], s) {
					sym = s
					break
				}
			}
			if sym == "" {
				return nil, &SyntaxError{Column: col(i), Expected: "a reference, operator or keyword", Found: fmt.Sprintf("%q", string(r))}
			}
			toks = append(toks, token{tokSym, sym, col(i)})
			i += len(sym)
		}
	}
	return append(toks, token{tokEOF, "", col(len(src))}), nil
}

// unquote reads a quoted name at the start of s; a backslash escapes the
// next character. It returns the name and the bytes consumed.
func unquote(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case q:
			return b.String(), i + 1, true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}

// quote renders a name the way unquote reads it.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
