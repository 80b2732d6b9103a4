package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func TestRoundTrip(t *testing.T) {
	msgs := []*Message{
		{Type: TypeHello, Hello: &Hello{Name: "w1", Version: "dev", Engines: []string{"nagios"}, Concurrency: 4}},
		{Type: TypeWelcome, Welcome: &Welcome{Zone: "edge"}},
		{Type: TypeJob, Job: &Job{ID: 7, Request: &checks.Request{Engine: "nagios", CommandLine: "check_dummy 0", Timeout: time.Second}}},
		{Type: TypeResult, Result: &Result{JobID: 7, Result: &checks.Result{Status: checks.StatusWarning, Output: "x"}}},
		{Type: TypeAck, Ack: &Ack{JobIDs: []int64{7}}},
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
		{`{"v":1,"type":"hello"}`, "hello message: want 1 payload field(s), got 0"},
		{`{"v":1,"type":"hello","hello":{"name":"","engines":["x"],"concurrency":1}}`, "hello message: name must be"},
		{`{"v":1,"type":"job","job":{"id":0,"request":{}}}`, "job message: id 0 is not positive"},
		{`{"v":1,"type":"result","result":{"job_id":3,"result":{"Status":"BOGUS"}}}`, "unknown status"},
		{`{"v":1,"type":"result","result":{"job_id":3}}`, "result is missing"},
		{`{"v":1,"type":"boo"}`, `unknown message type "boo"`},
		{`{"v":1,"type":"ping","extra":1}`, "unknown field"},
		{`{"v":1,"type":"ping"} {}`, "trailing data"},
		{`{"v":1,"type":"ping","ack":{"job_ids":[]}}`, "ping message: want 0 payload field(s), got 1"},
	} {
		_, err := Decode([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode(%s) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts encodes and decodes
// again to the same type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"hello","hello":{"name":"w","version":"dev","engines":["nagios","tcp"],"concurrency":10}}`,
		`{"v":1,"type":"job","job":{"id":12,"request":{"Engine":"nagios","CommandLine":"check_dummy 0","Timeout":1000000000}}}`,
		`{"v":1,"type":"result","result":{"job_id":12,"result":{"Status":"OK","Output":"OK","Perfdata":[{"label":"a","value":1}]}}}`,
		`{"v":1,"type":"ack","ack":{"job_ids":[1,2,3]}}`,
		`{"v":1,"type":"welcome","welcome":{"zone":"edge","shared":false,"node":"n1"}}`,
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
		if m2.Type != m.Type {
			t.Fatalf("type changed: %s -> %s", m.Type, m2.Type)
		}
	})
}
