package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func TestRoundTrip(t *testing.T) {
	msgs := []*Message{
		{Type: TypeHello, Hello: &Hello{Host: "web1", Version: "dev", Protocol: Version, Capabilities: []string{"cpu", "memory"}}},
		{Type: TypeWelcome, Welcome: &Welcome{Site: "s", Host: "web1", Node: "n1"}},
		{Type: TypeCheck, Check: &Check{ID: 7, Executor: "cpu", Parameters: map[string]string{"cpu_warning": "80"}, Timeout: time.Second}},
		{Type: TypeReading, Reading: &Reading{ID: 7, Result: &checks.Result{Status: checks.StatusWarning, Output: "x"}}},
		{Type: TypeRenew, Renew: &Renew{CSR: "-----BEGIN CERTIFICATE REQUEST-----"}},
		{Type: TypeRenewed, Renewed: &Renewed{Cert: "-----BEGIN CERTIFICATE-----"}},
		{Type: TypePing},
		{Type: TypeError, Error: "no"},
	}
	for _, m := range msgs {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: decode %s: %v", m.Type, b, err)
		}
		if got.Type != m.Type {
			t.Fatalf("type %s, want %s", got.Type, m.Type)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"v":2,"type":"ping"}`, "protocol version 2 not supported"},
		{`{"v":1,"type":"reading","reading":{"id":3,"result":{"Status":"OK"},"metrics":[{"name":"q","type":"bogus"}]}}`, `metrics[0] (q): unknown type "bogus"`},
		{`{"v":1,"type":"reading","reading":{"id":3,"result":{"Status":"OK"},"metrics":[{"type":"gauge"}]}}`, "metrics[0].name must be"},
		{`{"v":1,"type":"hello"}`, "hello message: want 1 payload field(s), got 0"},
		{`{"v":1,"type":"hello","hello":{"host":"","protocol":1,"capabilities":[]}}`, "hello message: host must be"},
		{`{"v":1,"type":"hello","hello":{"host":"h","protocol":9,"capabilities":[]}}`, "hello message: protocol 9 not supported"},
		{`{"v":1,"type":"check","check":{"id":0,"executor":"cpu","timeout":1}}`, "check message: id must be positive"},
		{`{"v":1,"type":"check","check":{"id":3,"executor":"cpu","timeout":0}}`, "check message 3: timeout 0s outside"},
		{`{"v":1,"type":"reading","reading":{"id":3,"result":{"Status":"BOGUS"}}}`, "unknown status"},
		{`{"v":1,"type":"reading","reading":{"id":3}}`, "reading message 3: result is missing"},
		{`{"v":1,"type":"boo"}`, `unknown message type "boo"`},
		{`{"v":1,"type":"ping","extra":1}`, "unknown field"},
		{`{"v":1,"type":"ping"} {}`, "trailing data"},
		{`{"v":1,"type":"ping","renew":{"csr":"x"}}`, "ping message: want 0 payload field(s), got 1"},
		{`{"v":1,"type":"ping","error":"x"}`, "error text is only for error messages"},
		{`{"v":1,"type":"renew","renewed":{"cert":"x"}}`, `renew message: the payload must be the "renew" field`},
		{strings.Repeat(" ", MaxMessage+1), "exceeds the limit"},
	} {
		_, err := Decode([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%.80s) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts encodes and decodes
// again to the same message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"hello","hello":{"host":"web1","agent_id":"a1","version":"dev","protocol":1,"capabilities":["cpu","disk"]}}`,
		`{"v":1,"type":"check","check":{"id":12,"executor":"processes","parameters":{"command":"sshd","warning":"1:20"},"timeout":1000000000}}`,
		`{"v":1,"type":"reading","reading":{"id":12,"result":{"Status":"OK","Output":"OK","Perfdata":[{"label":"a","value":1}]}}}`,
		`{"v":1,"type":"reading","reading":{"id":3,"result":{"Status":"OK","Output":"2 metrics"},"metrics":[{"name":"orders","type":"meter","count":5,"meanRate":0.5},{"name":"q","type":"gauge","value":12}]}}`,
		`{"v":1,"type":"welcome","welcome":{"site":"s","host":"h","node":"n1"}}`,
		`{"v":1,"type":"renew","renew":{"csr":"x"}}`,
		`{"v":1,"type":"renewed","renewed":{"cert":"x"}}`,
		`{"v":1,"type":"ping"}`,
		`{"v":1,"type":"error","error":"revoked"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		m2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded message %s does not decode: %v", b, err)
		}
		b2, err := Encode(m2)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("message changed on a round trip: %s -> %s (%v)", b, b2, err)
		}
	})
}
