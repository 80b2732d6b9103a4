package graph

import (
	"encoding/json"
	"testing"
)

// TestAppendMessage: gqlgen's protocol messages rendered without
// encoding/json are byte-for-byte what encoding/json writes, including ids
// that need escaping; other values are left to encoding/json.
func TestAppendMessage(t *testing.T) {
	type msg struct {
		Payload json.RawMessage `json:"payload,omitempty"`
		ID      string          `json:"id,omitempty"`
		Type    string          `json:"type"`
		noOp    bool
	}
	for _, m := range []*msg{
		{Payload: json.RawMessage(`{"data":{"checkUpdated":{"check":{"id":"x"}}}}`), ID: "1", Type: "next"},
		{ID: `a"b\<é>` + "\n", Type: "complete"},
		{Type: "ka"},
		{Payload: json.RawMessage(`[]`), Type: "connection_ack", noOp: true},
	} {
		got, ok := appendMessage(nil, m)
		want, _ := json.Marshal(m)
		if !ok || string(got) != string(want) {
			t.Errorf("appendMessage(%+v) = %s, %v; encoding/json: %s", m, got, ok, want)
		}
	}
	type other struct {
		Payload json.RawMessage `json:"payload"`
		Type    string          `json:"type"`
	}
	for _, v := range []any{&other{Type: "x"}, map[string]any{"type": "x"}, nil, (*other)(nil)} {
		if _, ok := appendMessage(nil, v); ok {
			t.Errorf("appendMessage(%#v) took a value it does not know", v)
		}
	}
}
