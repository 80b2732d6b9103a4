// Package wire owns the live-update NOTIFY payload: the one encoder and
// the one decoder of what travels on Channel.
//
// A payload is "<site uuid>:<check uuid>,<check uuid>,...": ids only,
// never state, so every listener re-reads the checks under its own
// subscriber's site (row-level security applies). Encode splits a long
// list into payloads of at most MaxIDs ids, which keeps each one well
// inside NOTIFY's 8000-byte limit (200 ids are 7,436 bytes with the site).
package wire

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Channel is the NOTIFY channel announcing changed check states.
const Channel = "bergamot_checks"

// MaxIDs is the most check ids one payload carries.
const MaxIDs = 200

// Encode returns the payloads announcing ids of site, at most MaxIDs ids
// each, in order; none for no ids.
func Encode(site uuid.UUID, ids []uuid.UUID) []string {
	var out []string
	for len(ids) > 0 {
		k := min(len(ids), MaxIDs)
		var b strings.Builder
		b.Grow(37 + 37*k)
		b.WriteString(site.String())
		b.WriteByte(':')
		for i, id := range ids[:k] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(id.String())
		}
		out = append(out, b.String())
		ids = ids[k:]
	}
	return out
}

// ErrNoSite reports a payload without the "<site>:" prefix.
var ErrNoSite = errors.New("live-update payload has no \"<site>:\" prefix")

// Decode reads a payload. A payload without a valid site is an error;
// ids that do not parse are skipped (the others still count), as a
// listener should announce what it can.
func Decode(payload string) (site uuid.UUID, ids []uuid.UUID, err error) {
	siteStr, list, ok := strings.Cut(payload, ":")
	if !ok {
		return uuid.Nil, nil, ErrNoSite
	}
	site, err = uuid.Parse(siteStr)
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("live-update payload: site %q: %w", siteStr, err)
	}
	ids = make([]uuid.UUID, 0, strings.Count(list, ",")+1)
	for len(list) > 0 {
		var s string
		s, list, _ = strings.Cut(list, ",")
		if id, err := uuid.Parse(s); err == nil {
			ids = append(ids, id)
		}
	}
	return site, ids, nil
}
