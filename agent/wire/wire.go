// Package wire is the agent protocol: the JSON messages a host agent
// (bergamot agent) and a serve node's hub exchange over the WebSocket at
// /agent, after mutual TLS has proved the agent's site and host. It is the
// one place that encodes and decodes them.
//
// Every message is one JSON object in one WebSocket text frame:
//
//	{"v":1, "type":"hello", "hello":{...}}
//
// The agent opens with hello (its host name, version, protocol version and
// the executors it has); the hub answers welcome or error and closes. The
// hub then sends check messages; the agent answers each with a reading
// carrying the check's id. renew carries a certificate request for a
// fresh certificate before the current one expires; the hub answers
// renewed. ping and pong keep idle links alive.
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

// MaxMessage bounds one message.
const MaxMessage = 1 << 20

// Message types.
const (
	TypeHello   = "hello"
	TypeWelcome = "welcome"
	TypeCheck   = "check"
	TypeReading = "reading"
	TypeRenew   = "renew"
	TypeRenewed = "renewed"
	TypePing    = "ping"
	TypePong    = "pong"
	TypeError   = "error"
)

// Message is one frame. Exactly the payload field named by Type is set
// (none for ping, pong and error).
type Message struct {
	V       int      `json:"v"`
	Type    string   `json:"type"`
	Hello   *Hello   `json:"hello,omitempty"`
	Welcome *Welcome `json:"welcome,omitempty"`
	Check   *Check   `json:"check,omitempty"`
	Reading *Reading `json:"reading,omitempty"`
	Renew   *Renew   `json:"renew,omitempty"`
	Renewed *Renewed `json:"renewed,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Hello is the agent's first message.
type Hello struct {
	// Host is the host's name (os hostname unless configured).
	Host string `json:"host"`
	// AgentID is the host id the agent asks to serve when it holds a
	// template certificate (ignored otherwise: the certificate decides).
	AgentID string `json:"agent_id,omitempty"`
	// Address is the host's address for a host registered from a template.
	Address      string   `json:"address,omitempty"`
	Version      string   `json:"version"`
	Protocol     int      `json:"protocol"`
	Capabilities []string `json:"capabilities"`
}

// Welcome accepts an agent.
type Welcome struct {
	Site string `json:"site"`
	Host string `json:"host"`
	Node string `json:"node"`
}

// Check asks the agent to run one check.
type Check struct {
	ID          uint64            `json:"id"`
	Executor    string            `json:"executor"`
	Parameters  map[string]string `json:"parameters,omitempty"`
	CommandLine string            `json:"command_line,omitempty"`
	Timeout     time.Duration     `json:"timeout"`
}

// Reading answers a Check.
type Reading struct {
	ID     uint64         `json:"id"`
	Result *checks.Result `json:"result"`
	// Metrics are the aggregated statsd metrics a metrics check asked
	// for; the hub hands them to the command's script as readings.
	Metrics []Metric `json:"metrics,omitempty"`
}

// Metric kinds: statsd counters are meters (a count and its rates),
// timers and histograms keep a distribution, gauges a value.
const (
	MetricMeter     = "meter"
	MetricGauge     = "gauge"
	MetricTimer     = "timer"
	MetricHistogram = "histogram"
	MetricSet       = "set"
)

// Metric is one aggregated metric the agent holds (the reading a metrics
// check's script sees: readings[i].meanRate, .value, .mean, ...). Rates
// are per second; timer figures are in milliseconds.
type Metric struct {
	Name              string  `json:"name"`
	Type              string  `json:"type"`
	Count             int64   `json:"count,omitempty"`
	Value             float64 `json:"value,omitempty"`
	MeanRate          float64 `json:"meanRate,omitempty"`
	OneMinuteRate     float64 `json:"oneMinuteRate,omitempty"`
	FiveMinuteRate    float64 `json:"fiveMinuteRate,omitempty"`
	FifteenMinuteRate float64 `json:"fifteenMinuteRate,omitempty"`
	Min               float64 `json:"min,omitempty"`
	Max               float64 `json:"max,omitempty"`
	Mean              float64 `json:"mean,omitempty"`
	Median            float64 `json:"median,omitempty"`
	P95               float64 `json:"p95,omitempty"`
	P99               float64 `json:"p99,omitempty"`
}

// Renew asks for a new certificate for the key of the certificate request.
type Renew struct {
	CSR string `json:"csr"`
}

// Renewed carries the renewed certificate (PEM, with its site CA after it).
type Renewed struct {
	Cert string `json:"cert"`
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
	maxName         = 200
	maxCapabilities = 64
	maxParameters   = 200
	maxPEM          = 16 << 10
	// MaxMetrics bounds the metrics one reading carries.
	MaxMetrics = 2000
)

func (m *Message) validate() error {
	var payloads int
	for _, p := range []bool{m.Hello != nil, m.Welcome != nil, m.Check != nil, m.Reading != nil, m.Renew != nil, m.Renewed != nil} {
		if p {
			payloads++
		}
	}
	want := 1
	switch m.Type {
	case TypePing, TypePong, TypeError:
		want = 0
	case TypeHello, TypeWelcome, TypeCheck, TypeReading, TypeRenew, TypeRenewed:
	default:
		return fmt.Errorf("unknown message type %q", m.Type)
	}
	if payloads != want {
		return fmt.Errorf("%s message: want %d payload field(s), got %d", m.Type, want, payloads)
	}
	if own := map[string]bool{TypeHello: m.Hello != nil, TypeWelcome: m.Welcome != nil, TypeCheck: m.Check != nil, TypeReading: m.Reading != nil,
		TypeRenew: m.Renew != nil, TypeRenewed: m.Renewed != nil}; want == 1 && !own[m.Type] {
		return fmt.Errorf("%s message: the payload must be the %q field", m.Type, m.Type)
	}
	if m.Error != "" && m.Type != TypeError {
		return fmt.Errorf("%s message: error text is only for error messages", m.Type)
	}
	switch m.Type {
	case TypeHello:
		return m.Hello.validate()
	case TypeWelcome:
		if m.Welcome.Site == "" || m.Welcome.Host == "" {
			return errors.New("welcome message: site and host must be set")
		}
	case TypeCheck:
		return m.Check.validate()
	case TypeReading:
		return m.Reading.validate()
	case TypeRenew:
		if m.Renew.CSR == "" || len(m.Renew.CSR) > maxPEM {
			return fmt.Errorf("renew message: csr must be 1 to %d bytes", maxPEM)
		}
	case TypeRenewed:
		if m.Renewed.Cert == "" || len(m.Renewed.Cert) > maxPEM {
			return fmt.Errorf("renewed message: cert must be 1 to %d bytes", maxPEM)
		}
	}
	return nil
}

func (h *Hello) validate() error {
	if h.Host == "" || len(h.Host) > maxName {
		return fmt.Errorf("hello message: host must be 1 to %d bytes", maxName)
	}
	if len(h.AgentID) > maxName || len(h.Address) > maxName || len(h.Version) > maxName {
		return fmt.Errorf("hello message: agent_id, address and version must be at most %d bytes", maxName)
	}
	if h.Protocol != Version {
		return fmt.Errorf("hello message: protocol %d not supported (this build speaks %d)", h.Protocol, Version)
	}
	if len(h.Capabilities) > maxCapabilities {
		return fmt.Errorf("hello message: %d capabilities exceed the limit of %d", len(h.Capabilities), maxCapabilities)
	}
	for i, c := range h.Capabilities {
		if c == "" || len(c) > maxName {
			return fmt.Errorf("hello message: capabilities[%d] must be 1 to %d bytes", i, maxName)
		}
	}
	return nil
}

func (c *Check) validate() error {
	if c.ID == 0 {
		return errors.New("check message: id must be positive")
	}
	if c.Executor == "" || len(c.Executor) > maxName {
		return fmt.Errorf("check message %d: executor must be 1 to %d bytes", c.ID, maxName)
	}
	if len(c.Parameters) > maxParameters {
		return fmt.Errorf("check message %d: %d parameters exceed the limit of %d", c.ID, len(c.Parameters), maxParameters)
	}
	if c.Timeout <= 0 || c.Timeout > time.Hour {
		return fmt.Errorf("check message %d: timeout %s outside (0, 1h]", c.ID, c.Timeout)
	}
	return nil
}

func (r *Reading) validate() error {
	if r.ID == 0 {
		return errors.New("reading message: id must be positive")
	}
	if r.Result == nil {
		return fmt.Errorf("reading message %d: result is missing", r.ID)
	}
	if s := r.Result.Status; s < 0 || int(s) >= len(checks.AllStatuses()) {
		return fmt.Errorf("reading message %d: status %d is not a status", r.ID, int(s))
	}
	if len(r.Metrics) > MaxMetrics {
		return fmt.Errorf("reading message %d: %d metrics exceed the limit of %d", r.ID, len(r.Metrics), MaxMetrics)
	}
	for i, m := range r.Metrics {
		if m.Name == "" || len(m.Name) > maxName {
			return fmt.Errorf("reading message %d: metrics[%d].name must be 1 to %d bytes", r.ID, i, maxName)
		}
		switch m.Type {
		case MetricMeter, MetricGauge, MetricTimer, MetricHistogram, MetricSet:
		default:
			return fmt.Errorf("reading message %d: metrics[%d] (%s): unknown type %q", r.ID, i, m.Name, m.Type)
		}
	}
	return nil
}
