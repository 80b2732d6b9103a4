package nrpe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

const users = "USERS OK - 0 users currently logged in |users=0;5;10;0"

const hexdumpFixture = "nrpe/hexdumps.txt"

// dump is one packet from fixtures/nrpe/hexdumps.txt. Omitted middle bytes
// are filled with zeros; complete reports whether none were omitted.
type dump struct {
	name     string
	data     []byte
	complete bool
}

var dumpHeader = regexp.MustCompile(`^(QUERY|RESPONSE) v(\d) \((\d+) bytes\):$`)

// readDumps parses the hexdump fixture (hexdump -C lines, with "... (N
// bytes omitted) ..." between the head and the last line).
func readDumps(t *testing.T) []dump {
	t.Helper()
	f, err := os.Open(fixtures.Path(t, hexdumpFixture))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dump
	var head, tail []byte
	var size int
	var name string
	omitted := false
	flush := func() {
		if name == "" {
			return
		}
		b := make([]byte, size)
		copy(b, head)
		copy(b[size-len(tail):], tail)
		out = append(out, dump{name: name, data: b, complete: !omitted})
		name = ""
	}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if m := dumpHeader.FindStringSubmatch(s); m != nil {
			flush()
			size, _ = strconv.Atoi(m[3])
			name, head, tail, omitted = m[1]+" v"+m[2], nil, nil, false
			continue
		}
		if name == "" {
			continue
		}
		if strings.HasPrefix(s, "... (") {
			omitted = true
			continue
		}
		if len(s) < 10 || !isHexOffset(s[:8]) {
			flush()
			continue
		}
		hexPart, _, _ := strings.Cut(s[8:], "|")
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexPart), ""))
		if err != nil {
			t.Fatalf("%s:%d: %v", hexdumpFixture, line, err)
		}
		if omitted {
			tail = append(tail, b...)
		} else {
			head = append(head, b...)
		}
	}
	flush()
	return out
}

func isHexOffset(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// TestHexdumps checks the codec against packets captured between the real
// check_nrpe and nrpe 4.1.0.
func TestHexdumps(t *testing.T) {
	dumps := readDumps(t)
	if len(dumps) != 4 {
		t.Fatalf("found %d packets in %s, want 4", len(dumps), hexdumpFixture)
	}
	for _, d := range dumps {
		version := int(binary.BigEndian.Uint16(d.data))
		// The dump leaves out runs of zero bytes only, so every packet,
		// random padding included, must pass the CRC check.
		p, err := DecodePacket(d.data)
		wantBuf := map[bool]string{true: "check_users", false: users}[strings.HasPrefix(d.name, "QUERY")]
		if err != nil || p.Buffer != wantBuf || p.Version != version {
			t.Errorf("%s: decodes to %+v, %v", d.name, p, err)
		}
		switch d.name {
		case "QUERY v2", "QUERY v4":
			// check_nrpe randomises padding (and v2's result code), so
			// compare the layout, not the CRC.
			ours, err := EncodeQuery(version, "check_users")
			if err != nil {
				t.Fatal(err)
			}
			if len(ours) != len(d.data) {
				t.Errorf("%s: we send %d bytes, check_nrpe %d", d.name, len(ours), len(d.data))
			}
			skip := map[int]bool{4: true, 5: true, 6: true, 7: true}
			if version == Version2 {
				skip[8], skip[9] = true, true
			}
			for i := 0; i < 16+len("check_users")+1; i++ {
				if !skip[i] && ours[i] != d.data[i] {
					t.Errorf("%s: byte %d is %02x, check_nrpe sent %02x", d.name, i, ours[i], d.data[i])
				}
			}
			if p, err := DecodePacket(ours); err != nil || p.Buffer != "check_users" || p.Type != TypeQuery {
				t.Errorf("%s: our own query decodes to %+v, %v", d.name, p, err)
			}
		case "RESPONSE v4":
			ours, _ := EncodeResponse(Version4, 0, users)
			if !bytes.Equal(ours, d.data) {
				t.Errorf("%s: our encoding differs from the daemon's:\n% x\n% x", d.name, ours, d.data)
			}
		case "RESPONSE v2":
			// The daemon fills the 2 struct padding bytes at the end with
			// random data (covered by the CRC); the rest must match ours.
			ours, _ := EncodeResponse(Version2, 0, users)
			if len(ours) != len(d.data) || !bytes.Equal(ours[8:len(ours)-2], d.data[8:len(d.data)-2]) || !bytes.Equal(ours[:4], d.data[:4]) {
				t.Errorf("%s: our encoding differs from the daemon's", d.name)
			}
		}
	}
}

func TestRoundTripAndErrors(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, c := range []struct {
		version, code int
		text, want    string
	}{
		{Version2, 2, "CRITICAL - bad", "CRITICAL - bad"},
		{Version2, 0, long, long[:1023]},
		{Version4, 3, long, long},
		{Version4, -1, "", ""},
	} {
		b, err := EncodeResponse(c.version, c.code, c.text)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ReadPacket(bytes.NewReader(b))
		if err != nil || p.Buffer != c.want || p.ResultCode != c.code || p.Version != c.version {
			t.Errorf("v%d %d bytes: %+v %v", c.version, len(c.text), p, err)
		}
	}
	if _, err := EncodeQuery(Version2, long); err == nil {
		t.Error("a 5000-byte v2 query was accepted")
	}
	if b, _ := EncodeQuery(Version4, long); len(b) != 16+5001 {
		t.Errorf("long v4 query is %d bytes", len(b))
	}

	good, _ := EncodeResponse(Version4, 0, "OK")
	flip := bytes.Clone(good)
	flip[17] ^= 1
	v3 := v3Packet(1, "WARNING - v3")
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "EOF"},
		{"short header", good[:7], "header cut short after 7 of 16"},
		{"cut body", good[:len(good)-1], "cut short"},
		{"bad crc", flip, "CRC is"},
		{"bad version", append([]byte{0x16, 0x03}, good[2:]...), "unknown version 5635"},
		{"huge length", append(append(bytes.Clone(good[:12]), 0x7f, 0, 0, 0), good[16:]...), "buffer_length 2130706432 exceeds"},
	}
	for _, c := range cases {
		_, err := ReadPacket(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if p, err := ReadPacket(bytes.NewReader(v3)); err != nil || p.Buffer != "WARNING - v3" || p.ResultCode != 1 {
		t.Errorf("v3: %+v %v", p, err)
	}
	// Type 3 packets are joined until a type 2 packet.
	var multi bytes.Buffer
	multi.Write(typed(Version2, TypeResponseWithMore, 0, "part one, "))
	multi.Write(typed(Version2, TypeResponseWithMore, 0, "part two, "))
	multi.Write(typed(Version2, TypeResponse, 1, "end"))
	if r, err := readResponse(&multi); err != nil || r.Output != "part one, part two, end" || r.ResultCode != 1 {
		t.Errorf("multi-packet: %+v %v", r, err)
	}
	if _, err := readResponse(io.MultiReader(bytes.NewReader(typed(Version2, TypeResponseWithMore, 0, "a")))); err == nil {
		t.Error("a response cut after a 'more' packet was accepted")
	}
}

// v3Packet builds a v3 response: v4 layout plus 3 trailing zero bytes.
func v3Packet(code int, text string) []byte {
	b := make([]byte, 16+len(text)+1+3)
	binary.BigEndian.PutUint16(b, Version3)
	binary.BigEndian.PutUint16(b[2:], TypeResponse)
	binary.BigEndian.PutUint16(b[8:], uint16(code))
	binary.BigEndian.PutUint32(b[12:], uint32(len(text)+1))
	copy(b[16:], text)
	binary.BigEndian.PutUint32(b[4:], packetCRC(b, Version3))
	return b
}

func typed(version, typ, code int, text string) []byte {
	b, err := encode(version, typ, code, text)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

// FuzzReadPacket feeds arbitrary bytes to the decoder: it must never panic,
// and whatever it accepts must survive a re-encode.
func FuzzReadPacket(f *testing.F) {
	for _, text := range []string{"", "check_users", "USERS OK - 0 users currently logged in |users=0;5;10;0", strings.Repeat("y", 1100)} {
		for _, v := range []int{Version2, Version4} {
			if b, err := EncodeQuery(v, text); err == nil {
				f.Add(b)
			}
			b, _ := EncodeResponse(v, 2, text)
			f.Add(b)
		}
		f.Add(v3Packet(3, text))
	}
	f.Add([]byte{0, 4, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPacket(bytes.NewReader(data))
		if err != nil {
			return
		}
		if p.Version != Version2 && p.Version != Version3 && p.Version != Version4 {
			t.Fatalf("accepted version %d", p.Version)
		}
		if strings.IndexByte(p.Buffer, 0) >= 0 {
			t.Fatalf("buffer holds a NUL: %q", p.Buffer)
		}
		v := p.Version
		if v == Version3 {
			v = Version4
		}
		b, err := encode(v, p.Type, p.ResultCode, p.Buffer)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		q, err := DecodePacket(b)
		if err != nil || q.Buffer != p.Buffer || q.ResultCode != p.ResultCode || q.Type != p.Type {
			t.Fatalf("round trip: %+v -> %+v %v", p, q, err)
		}
	})
}
