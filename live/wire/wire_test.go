package wire

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestEncodeDecode: a long list splits into payloads of MaxIDs ids that
// fit NOTIFY's 8000 bytes, and decoding them gives the ids back in order.
func TestEncodeDecode(t *testing.T) {
	site := uuid.New()
	ids := make([]uuid.UUID, 2*MaxIDs+3)
	for i := range ids {
		ids[i] = uuid.New()
	}
	payloads := Encode(site, ids)
	if len(payloads) != 3 {
		t.Fatalf("%d payloads, want 3", len(payloads))
	}
	var got []uuid.UUID
	for _, p := range payloads {
		if len(p) >= 8000 {
			t.Errorf("payload of %d bytes does not fit NOTIFY", len(p))
		}
		s, list, err := Decode(p)
		if err != nil || s != site {
			t.Fatalf("Decode: %v, %v", s, err)
		}
		got = append(got, list...)
	}
	if !slices.Equal(got, ids) {
		t.Error("ids changed on the way")
	}
	if Encode(site, nil) != nil {
		t.Error("no ids should encode to no payload")
	}
	want := site.String() + ":" + ids[0].String()
	if p := Encode(site, ids[:1]); len(p) != 1 || p[0] != want {
		t.Errorf("Encode = %q, want %q", p, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, p := range []string{"", "no-colon", "not-a-uuid:" + uuid.NewString()} {
		if _, _, err := Decode(p); err == nil {
			t.Errorf("Decode(%q): no error", p)
		}
	}
	site, a := uuid.New(), uuid.New()
	_, ids, err := Decode(site.String() + ":junk," + a.String() + ",")
	if err != nil || !slices.Equal(ids, []uuid.UUID{a}) {
		t.Errorf("bad ids are skipped, good ones kept: %v %v", ids, err)
	}
}

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to
// a payload that decodes to the same site and ids.
func FuzzDecode(f *testing.F) {
	site, a, b := uuid.New(), uuid.New(), uuid.New()
	f.Add(site.String() + ":" + a.String() + "," + b.String())
	f.Add(site.String() + ":")
	f.Add(":" + a.String())
	f.Add(site.String() + ":" + a.String() + ",,x," + strings.ToUpper(b.String()))
	f.Add("")
	f.Fuzz(func(t *testing.T, payload string) {
		s, ids, err := Decode(payload)
		if err != nil {
			return
		}
		for _, p := range Encode(s, ids) {
			s2, ids2, err := Decode(p)
			if err != nil || s2 != s {
				t.Fatalf("re-decoding %q: %v %v", p, s2, err)
			}
			if !slices.Equal(ids2, ids[:len(ids2)]) {
				t.Fatalf("ids changed on the way")
			}
			ids = ids[len(ids2):]
		}
		if len(ids) != 0 {
			t.Fatalf("%d ids lost", len(ids))
		}
	})
}
