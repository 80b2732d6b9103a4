package checks

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Perfdata is one performance data item, as plugins emit it:
// 'label'=value[UOM];[warn];[crit];[min];[max]. Nil pointers are absent fields.
type Perfdata struct {
	Label string   `json:"label"`
	Value *float64 `json:"value,omitempty"`
	UOM   string   `json:"uom,omitempty"`
	// Warn and Crit are the raw threshold ranges ("10:20", "@0:5", "~:3").
	Warn string   `json:"warn,omitempty"`
	Crit string   `json:"crit,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

// perfSpace separates perfdata items.
func perfSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// ParsePerfdata parses a raw perfdata string (PluginOutput.Perfdata) into
// items. It never gives up on the whole line: a token that cannot be an item
// (no '=', empty label, non-numeric value, unterminated quote) is skipped and
// a token that is an item but breaks the rules (bad range, bad min/max, extra
// fields) is kept; both add a warning naming the token and what is wrong.
// A value of "U" (unknown), also with a unit ("U%"), gives an item with a
// nil Value that keeps its unit and thresholds. Numbers may have an
// exponent (1e3, -3.2e-7ms); a value followed by something that is not a
// unit (10m2, 0x10, 5|x) is skipped with a warning, since its number
// cannot be trusted.
func ParsePerfdata(raw string) ([]Perfdata, []string) {
	var (
		items    []Perfdata
		warnings []string
	)
	for i := 0; i < len(raw); {
		if perfSpace(raw[i]) {
			i++
			continue
		}
		tok, label, value, next, problem := nextPerfToken(raw, i)
		i = next
		if problem != "" {
			warnings = append(warnings, perfWarning(tok, problem))
			continue
		}
		p, bad := parsePerfValue(label, value)
		if p == nil {
			warnings = append(warnings, perfWarning(tok, bad[0]))
			continue
		}
		for _, b := range bad {
			warnings = append(warnings, perfWarning(tok, b))
		}
		items = append(items, *p)
	}
	return items, warnings
}

func perfWarning(tok, problem string) string {
	return fmt.Sprintf("perfdata item %q: %s", tok, problem)
}

// nextPerfToken reads the token starting at raw[i] (not a space) and splits
// it into label and value; problem is set when it cannot be an item.
func nextPerfToken(raw string, i int) (tok, label, value string, next int, problem string) {
	start := i
	if raw[i] == '\'' {
		var b strings.Builder
		j := i + 1
		for {
			k := strings.IndexByte(raw[j:], '\'')
			if k < 0 { // unterminated: the quote swallows the rest of the line
				return raw[start:], "", "", len(raw), "quoted label not followed by '='"
			}
			b.WriteString(raw[j : j+k])
			j += k + 1
			if j < len(raw) && raw[j] == '\'' { // '' is a literal quote
				b.WriteByte('\'')
				j++
				continue
			}
			break
		}
		end := tokenEnd(raw, j)
		tok = raw[start:end]
		if j >= len(raw) || raw[j] != '=' {
			return tok, "", "", end, "quoted label not followed by '='"
		}
		label = b.String()
		if label == "" {
			return tok, "", "", end, "empty label"
		}
		return tok, label, raw[j+1 : end], end, ""
	}
	end := tokenEnd(raw, i)
	tok = raw[start:end]
	label, value, ok := strings.Cut(tok, "=")
	switch {
	case !ok:
		return tok, "", "", end, "no '=' in token"
	case label == "":
		return tok, "", "", end, "empty label"
	}
	return tok, label, value, end, ""
}

func tokenEnd(raw string, i int) int {
	for i < len(raw) && !perfSpace(raw[i]) {
		i++
	}
	return i
}

// parsePerfValue parses value[UOM];warn;crit;min;max. It returns nil and one
// problem when the item is unusable, or the item and any lesser problems.
func parsePerfValue(label, value string) (*Perfdata, []string) {
	fields := strings.Split(value, ";")
	p := &Perfdata{Label: label}
	var bad []string
	if uom, ok := strings.CutPrefix(fields[0], "U"); ok && validUOM(uom) {
		p.UOM = uom // unknown value: keep the unit and the thresholds
	} else {
		num, uom := splitNumber(fields[0])
		v, err := strconv.ParseFloat(num, 64)
		switch {
		case num == "":
			return nil, []string{"value not numeric"}
		case err != nil:
			return nil, []string{fmt.Sprintf("value %q is not a number or out of range", num)}
		case strings.HasPrefix(uom, ","):
			return nil, []string{"value not numeric (e.g. locale comma)"}
		case strings.HasPrefix(uom, "x") && num == "0" || strings.HasPrefix(uom, "X") && num == "0":
			return nil, []string{"hexadecimal values are not perfdata numbers"}
		case !validUOM(uom):
			return nil, []string{fmt.Sprintf("value %s is followed by %q, which is not a unit of measurement (letters, %%, / or °; no digits or punctuation)", num, uom)}
		}
		p.Value = &v
		p.UOM = uom
	}
	if len(fields) > 1 {
		p.Warn = checkRangeField(fields[1], "warn", &bad)
	}
	if len(fields) > 2 {
		p.Crit = checkRangeField(fields[2], "crit", &bad)
	}
	if len(fields) > 3 {
		p.Min = numberField(fields[3], "min", &bad)
	}
	if len(fields) > 4 {
		p.Max = numberField(fields[4], "max", &bad)
	}
	if len(fields) > 5 && strings.Trim(strings.Join(fields[5:], ""), " ") != "" {
		bad = append(bad, fmt.Sprintf("%d fields after the value, at most 4 (warn;crit;min;max) are allowed; the rest are ignored", len(fields)-1))
	}
	return p, bad
}

// splitNumber splits s into its leading number and the rest (the UOM).
// The number is a [-+0-9.] run, followed by an exponent (e or E, an
// optional sign and at least one digit) when there is one: plugins print
// 1e3 and -3.2e-7, and Icinga 2's perfdata parser reads them, although
// the plugin guidelines only show [-0-9.].
func splitNumber(s string) (num, rest string) {
	i := 0
	for i < len(s) && (s[i] == '-' || s[i] == '+' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9')) {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return s[:i], s[i:]
}

// validUOM reports whether u can be a unit of measurement: empty, or
// letters with %, / and °, as in s, ms, us, %, B, KB, MiB, c, B/s, °C.
// Digits and other punctuation ("m2" of "10m2", a stray "|") are not.
func validUOM(u string) bool {
	for _, r := range u {
		if !unicode.IsLetter(r) && r != '%' && r != '/' && r != '°' {
			return false
		}
	}
	return true
}

func checkRangeField(s, name string, bad *[]string) string {
	if s == "" {
		return ""
	}
	if _, err := ParseRange(s); err != nil {
		*bad = append(*bad, fmt.Sprintf("%s threshold: %v", name, err))
	}
	return s
}

func numberField(s, name string, bad *[]string) *float64 {
	if s == "" || s == "U" {
		return nil
	}
	num, rest := splitNumber(s)
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil {
		*bad = append(*bad, fmt.Sprintf("%s %q is not a number; ignored", name, s))
		return nil
	}
	if rest != "" {
		*bad = append(*bad, fmt.Sprintf("%s %q has trailing %q; used %s", name, s, rest, num))
	}
	return &v
}
