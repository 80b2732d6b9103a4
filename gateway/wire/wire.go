// Package wire is the worker gateway's protocol: the JSON messages a remote
// worker (bergamot worker --hub) and a serve node exchange over the
// WebSocket at /worker. It is the one place that encodes and decodes them.
//
// Every message is one JSON object in one WebSocket text frame:
//
//	{"v":1, "type":"hello", "hello":{...}}
//
// The worker opens with hello (its name, version, engines and how many
// checks it runs at once); the node answers welcome (the zone the key
// serves) or error and closes. The node then sends job messages; the worker
// answers each with a result carrying the job's id. The node acknowledges
// every result with ack once it is written (applied, or dropped because the
// job was already done), and the worker keeps a result until then, resending
// it after a reconnect: a result sent twice is applied once, because the
// hand-back only completes a job that is still running. ping and pong keep
// idle links alive through proxies.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Version is the protocol version this build speaks.
const Version = 1

// MaxMessage bounds one message (a check's output and long output are
// capped well below it by the engines).
const MaxMessage = 1 << 20

// Message types.
const (
	TypeHello   = "hello"
	TypeWelcome = "welcome"
	TypeJob     = "job"
	TypeResult  = "result"
	TypeAck     = "ack"
	TypePing    = "ping"
	TypePong    = "pong"
	TypeError   = "error"
)

// Message is one frame of the protocol. Exactly the field named by Type is set.
type Message struct {
	V       int      `json:"v"`
	Type    string   `json:"type"`
	Hello   *Hello   `json:"hello,omitempty"`
	Welcome *Welcome `json:"welcome,omitempty"`
	Job     *Job     `json:"job,omitempty"`
	Result  *Result  `json:"result,omitempty"`
	Ack     *Ack     `json:"ack,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Hello is the worker's first message.
type Hello struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Engines     []string `json:"engines"`
	Concurrency int      `json:"concurrency"`
}

// Welcome accepts a worker: the zone its key serves and whether that is an
// operator (shared) zone.
type Welcome struct {
	Zone   string `json:"zone"`
	Shared bool   `json:"shared"`
	Node   string `json:"node"`
}

// Job asks the worker to run one check. Request holds the check's
// definition with only the credentials it uses already filled in.
type Job struct {
	ID      int64           `json:"id"`
	Request *checks.Request `json:"request"`
}

// Result answers a Job.
type Result struct {
	JobID  int64          `json:"job_id"`
	Result *checks.Result `json:"result"`
}

// Ack tells the worker the node has written the results of these jobs (or
// found them already done): it may forget them.
type Ack struct {
	JobIDs []int64 `json:"job_ids"`
}

// Encode returns m as one frame, with the protocol version set.
func Encode(m *Message) ([]byte, error) {
	m.V = Version
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s message: %w", m.Type, err)
	}
	return b, nil
}

// Decode parses and checks one frame. The error says what is wrong and where.
func Decode(data []byte) (*Message, error) {
	if len(data) > MaxMessage {
		return nil, fmt.Errorf("message of %d bytes exceeds the limit of %d", len(data), MaxMessage)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decoding message: trailing data after the JSON object")
	}
	if m.V != Version {
		return nil, fmt.Errorf("protocol version %d not supported (this build speaks %d)", m.V, Version)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Limits on the fields a peer sends.
const (
	maxName    = 200
	maxEngines = 64
	maxAcks    = 10000
)

func (m *Message) validate() error {
	switch m.Type {
	case TypeHello, TypeWelcome, TypeJob, TypeResult, TypeAck, TypePing, TypePong, TypeError:
	default:
		return fmt.Errorf("unknown message type %q", m.Type)
	}
	set := 0
	for _, p := range []bool{m.Hello != nil, m.Welcome != nil, m.Job != nil, m.Result != nil, m.Ack != nil} {
		if p {
			set++
		}
	}
	want := 1
	switch m.Type {
	case TypePing, TypePong, TypeError:
		want = 0
	}
	if set != want {
		return fmt.Errorf("%s message: want %d payload field(s), got %d", m.Type, want, set)
	}
	switch m.Type {
	case TypeHello:
		return m.Hello.validate()
	case TypeWelcome:
		if m.Welcome.Zone == "" {
			return errors.New("welcome message: zone is empty")
		}
	case TypeJob:
		if m.Job.ID <= 0 {
			return fmt.Errorf("job message: id %d is not positive", m.Job.ID)
		}
		if m.Job.Request == nil {
			return fmt.Errorf("job message %d: request is missing", m.Job.ID)
		}
		if m.Job.Request.Timeout <= 0 || m.Job.Request.Timeout > time.Hour {
			return fmt.Errorf("job message %d: timeout %s outside (0, 1h]", m.Job.ID, m.Job.Request.Timeout)
		}
	case TypeResult:
		return m.Result.validate()
	case TypeAck:
		if len(m.Ack.JobIDs) > maxAcks {
			return fmt.Errorf("ack message: %d job ids exceed the limit of %d", len(m.Ack.JobIDs), maxAcks)
		}
	}
	return nil
}

func (h *Hello) validate() error {
	if h.Name == "" || len(h.Name) > maxName {
		return fmt.Errorf("hello message: name must be 1 to %d bytes", maxName)
	}
	if len(h.Version) > maxName {
		return fmt.Errorf("hello message: version longer than %d bytes", maxName)
	}
	if len(h.Engines) == 0 || len(h.Engines) > maxEngines {
		return fmt.Errorf("hello message: want 1 to %d engines, got %d", maxEngines, len(h.Engines))
	}
	for i, e := range h.Engines {
		if e == "" || len(e) > maxName {
			return fmt.Errorf("hello message: engines[%d] must be 1 to %d bytes", i, maxName)
		}
	}
	if h.Concurrency < 1 || h.Concurrency > 10000 {
		return fmt.Errorf("hello message: concurrency %d outside 1..10000", h.Concurrency)
	}
	return nil
}

func (r *Result) validate() error {
	if r.JobID <= 0 {
		return fmt.Errorf("result message: job_id %d is not positive", r.JobID)
	}
	if r.Result == nil {
		return fmt.Errorf("result message for job %d: result is missing", r.JobID)
	}
	if s := r.Result.Status; s < 0 || int(s) >= len(checks.AllStatuses()) {
		return fmt.Errorf("result message for job %d: status %d is not a status", r.JobID, int(s))
	}
	return nil
}
