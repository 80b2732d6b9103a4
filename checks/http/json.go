package http

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// lookupJSON follows a dotted path ("data.items.0.name") through a JSON
// document; numeric segments index arrays. It reports whether the path exists.
func lookupJSON(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(path, "$"), "."), ".") {
		if seg == "" {
			continue
		}
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// jsonText renders a JSON value for comparison: strings bare, others as JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// checkJSON returns "" when the body has path (with value want, if given),
// else what is wrong.
func checkJSON(body []byte, path, want string, hasWant bool) string {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Sprintf("body is not JSON: %v", err)
	}
	v, ok := lookupJSON(doc, path)
	if !ok {
		return fmt.Sprintf("JSON has no %s", path)
	}
	if hasWant && jsonText(v) != want {
		got := jsonText(v)
		if len(got) > 60 {
			got = got[:60] + "..."
		}
		return fmt.Sprintf("JSON %s is %q, expected %q", path, got, want)
	}
	return ""
}
