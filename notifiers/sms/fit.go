package sms

import (
	"strings"
	"unicode"
	"unicode/utf16"
)

// SegmentGSM and SegmentUCS2 are the capacities of one SMS: 160 GSM-7
// septets, or 70 UTF-16 units when a character outside GSM-7 is present.
const (
	SegmentGSM  = 160
	SegmentUCS2 = 70
)

const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsmExtended = "^{}\\[~]|€" // two septets each

var lookalikes = strings.NewReplacer("…", "...", "‘", "'", "’", "'", "“", "\"", "”", "\"", "–", "-", "—", "-", "\t", " ", "·", "-", "\u00a0", " ")

// Fit makes s fit one SMS: whitespace runs collapse to one space, common
// typographic characters become their GSM-7 lookalikes, and a text still too
// long is cut at a word boundary (when one is near) and ends with "...".
// The limit is SegmentGSM septets, or SegmentUCS2 units when s needs UCS-2.
func Fit(s string) string {
	s = strings.Join(strings.FieldsFunc(lookalikes.Replace(s), unicode.IsSpace), " ")
	cost, limit := gsmCost, SegmentGSM
	if !isGSM(s) {
		cost, limit = ucs2Cost, SegmentUCS2
	}
	if total(s, cost) <= limit {
		return s
	}
	const ellipsis = "..."
	budget := limit - len(ellipsis)
	var b strings.Builder
	used, lastSpace := 0, -1
	for _, r := range s {
		c := cost(r)
		if used+c > budget {
			break
		}
		if r == ' ' {
			lastSpace = b.Len()
		}
		b.WriteRune(r)
		used += c
	}
	out := b.String()
	if lastSpace > 0 && len(out)-lastSpace < 20 {
		out = out[:lastSpace]
	}
	return strings.TrimRight(out, " ,;:-") + ellipsis
}

func isGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsmBasic, r) && !strings.ContainsRune(gsmExtended, r) {
			return false
		}
	}
	return true
}

func gsmCost(r rune) int {
	if strings.ContainsRune(gsmExtended, r) {
		return 2
	}
	return 1
}

func ucs2Cost(r rune) int { return len(utf16.Encode([]rune{r})) }

func total(s string, cost func(rune) int) int {
	n := 0
	for _, r := range s {
		n += cost(r)
	}
	return n
}

// Units returns how many septets (GSM-7) or UTF-16 units (UCS-2) s takes,
// and the one-segment limit for its encoding.
func Units(s string) (n, limit int) {
	if isGSM(s) {
		return total(s, gsmCost), SegmentGSM
	}
	return total(s, ucs2Cost), SegmentUCS2
}
