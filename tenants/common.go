package tenants

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// commonPasswordsText is Openwall's list of the passwords most often seen
// (public domain; see the file's header), one a line, lower-case.
//
//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, 4000)
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
})

// IsCommonPassword reports whether pw is, or is no more than decoration
// of, a password on the common-passwords list: the list is matched without
// regard to case, and also after digits and symbols at either end are cut
// off ("Password123!" is "password") and after a doubled word is halved
// ("monkeymonkey"), or after one character added at either end is dropped
// ("1234567890a").
func IsCommonPassword(pw string) bool {
	list := commonPasswords()
	low := strings.ToLower(pw)
	if list[low] {
		return true
	}
	core := strings.TrimFunc(low, func(r rune) bool { return !unicode.IsLetter(r) })
	if core != "" && list[core] {
		return true
	}
	if n := len(low); n > 1 && (list[low[:n-1]] || list[low[1:]]) {
		return true // one character added at either end
	}
	if n := len(core); n > 0 && n%2 == 0 && core[:n/2] == core[n/2:] && list[core[:n/2]] {
		return true
	}
	return false
}

// checkCommon refuses common passwords with a reason the user can act on.
func checkCommon(pw string) error {
	if IsCommonPassword(pw) {
		return fmt.Errorf("%w: that password (or the word at its heart) is on a list of the most common passwords; choose one nobody would guess", ErrWeakPassword)
	}
	return nil
}
