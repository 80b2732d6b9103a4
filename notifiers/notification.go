package notifiers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Type is the kind of notification. Its values are the kebab-case names
// used by monitor.NotificationType.String, so Type(ev.Type.String()) converts.
type Type string

// The notification types.
const (
	TypeAlert           Type = "alert"
	TypeRecovery        Type = "recovery"
	TypeAcknowledgement Type = "acknowledgement"
	TypeEscalation      Type = "escalation"
	TypeFlappingStart   Type = "flapping-start"
	TypeFlappingStop    Type = "flapping-stop"
	TypeDowntimeStart   Type = "downtime-start"
	TypeDowntimeEnd     Type = "downtime-end"
	TypeTest            Type = "test"
)

// AllTypes lists every notification type.
func AllTypes() []Type {
	return []Type{TypeAlert, TypeRecovery, TypeAcknowledgement, TypeEscalation,
		TypeFlappingStart, TypeFlappingStop, TypeDowntimeStart, TypeDowntimeEnd, TypeTest}
}

// ParseType parses a notification type name, e.g. "flapping-start".
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	if t.Valid() {
		return t, nil
	}
	names := make([]string, 0, 9)
	for _, v := range AllTypes() {
		names = append(names, string(v))
	}
	return "", fmt.Errorf("unknown notification type %q (want one of %s)", s, strings.Join(names, ", "))
}

// Valid reports whether t is one of the known types.
func (t Type) Valid() bool {
	for _, v := range AllTypes() {
		if t == v {
			return true
		}
	}
	return false
}

// Title is a short human heading for the type, e.g. "Problem", "Recovered".
func (t Type) Title() string {
	switch t {
	case TypeAlert:
		return "Problem"
	case TypeRecovery:
		return "Recovered"
	case TypeAcknowledgement:
		return "Acknowledged"
	case TypeEscalation:
		return "Escalated"
	case TypeFlappingStart:
		return "Flapping"
	case TypeFlappingStop:
		return "Stopped flapping"
	case TypeDowntimeStart:
		return "Downtime started"
	case TypeDowntimeEnd:
		return "Downtime ended"
	case TypeTest:
		return "Test"
	}
	return string(t)
}

// Check is the check a notification is about.
type Check struct {
	// ID is the check's UUID.
	ID string
	// Kind is "host", "service", "trap", "cluster" or "resource".
	Kind string
	// Name is the check's name; Summary its display summary.
	Name    string
	Summary string
	// Host is the name of the host the check belongs to (or is).
	Host string
}

// Label is "name on host" (or just the name for a host check).
func (c Check) Label() string {
	name := c.Summary
	if name == "" {
		name = c.Name
	}
	if c.Host == "" || c.Host == name || c.Kind == "host" {
		return name
	}
	return name + " on " + c.Host
}

// Notification is one message to deliver. It is rendered per channel with
// Templates; the same Notification goes to every recipient, with
// IdempotencyKey set per recipient and channel by the caller.
type Notification struct {
	// Type is what happened.
	Type Type
	// Site is the tenant's display name.
	Site string
	// Check is the check concerned.
	Check Check
	// Status is the check's status now, Previous the one before.
	Status   checks.Status
	Previous checks.Status
	// Output is the check's output (first line), LongOutput the rest.
	Output     string
	LongOutput string
	// Since is when the current status began; Duration how long it has held
	// (or, for a recovery, how long the problem lasted).
	Since    time.Time
	Duration time.Duration
	// Time is when the event happened (zero: now).
	Time time.Time
	// DashboardURL links to the check; AckURL is a signed, single-use,
	// expiring acknowledgement link (see SignAck). Either may be empty.
	DashboardURL string
	AckURL       string
	// Comment and Author describe an acknowledgement or downtime.
	Comment string
	Author  string
	// AlertID identifies the alert; the notifications of one alert (problem,
	// acknowledgement, recovery) share it, so email threads them together.
	AlertID string
	// More is the number of further problems not detailed here ("and 37
	// more problems"); 0 for none.
	More int
	// Escalation is the escalation level (0 for the first notification).
	Escalation int
	// Repeat counts earlier notifications of this type for this alert
	// (reminders); 0 for the first.
	Repeat int
	// IdempotencyKey identifies this notification for this recipient on this
	// channel (see IdempotencyKey); channels pass it on where the far side
	// can deduplicate.
	IdempotencyKey string
	// Templates renders the message; nil means the embedded defaults.
	Templates *Templates
}

// When returns n.Time, or now when it is zero.
func (n *Notification) When() time.Time {
	if n.Time.IsZero() {
		return time.Now()
	}
	return n.Time
}

// Recipient is who a notification goes to, with an address per channel.
type Recipient struct {
	// ID is the contact's UUID (may be empty); Name the display name.
	ID   string
	Name string
	// Addresses holds the contact's address per channel name (what each
	// channel's Channel.Address found on the contact): "email" ->
	// "ops@example.com", "sms" -> "+441234567890" (E.164), "irc" -> a nick.
	// A channel reads its own with Address.
	Addresses map[string]string
	// TimeZone is an IANA zone name for rendering times (empty: UTC).
	TimeZone string
}

// Address returns the recipient's address on channel, "" when none.
func (r Recipient) Address(channel string) string { return r.Addresses[channel] }

// legacyAddresses are the fields a Recipient had before addresses were
// kept per channel, and the channel each held the address of. Delivery
// payloads stored by older versions carry them: UnmarshalJSON reads them,
// and MarshalJSON still writes them so that an older notifier can deliver
// what a newer node queued during an upgrade. This list is closed: a new
// channel's address lives only in Addresses.
var legacyAddresses = [...]struct {
	channel string
	field   func(*recipientJSON) *string
}{
	{"email", func(j *recipientJSON) *string { return &j.Email }},
	{"sms", func(j *recipientJSON) *string { return &j.Phone }},
	{"irc", func(j *recipientJSON) *string { return &j.IRCNick }},
}

// recipientJSON is a Recipient's stored form: the current fields and the
// legacy ones.
type recipientJSON struct {
	ID        string
	Name      string
	Email     string            `json:",omitempty"`
	Phone     string            `json:",omitempty"`
	IRCNick   string            `json:",omitempty"`
	Addresses map[string]string `json:",omitempty"`
	TimeZone  string
}

// MarshalJSON writes the recipient with its addresses, plus the legacy
// fields older versions read (see legacyAddresses).
func (r Recipient) MarshalJSON() ([]byte, error) {
	j := recipientJSON{ID: r.ID, Name: r.Name, Addresses: r.Addresses, TimeZone: r.TimeZone}
	for _, l := range legacyAddresses {
		*l.field(&j) = r.Address(l.channel)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a recipient stored by this version or an older one
// (whose addresses were the fields Email, Phone and IRCNick).
func (r *Recipient) UnmarshalJSON(b []byte) error {
	var j recipientJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Recipient{ID: j.ID, Name: j.Name, Addresses: j.Addresses, TimeZone: j.TimeZone}
	for _, l := range legacyAddresses {
		v := *l.field(&j)
		if v == "" || r.Address(l.channel) != "" {
			continue
		}
		if r.Addresses == nil {
			r.Addresses = map[string]string{}
		}
		r.Addresses[l.channel] = v
	}
	return nil
}

// Notifier is one delivery channel.
type Notifier interface {
	// Name is the channel name used in configuration, e.g. "email".
	Name() string
	// Send delivers n to one recipient. A nil error means the far side
	// accepted it; otherwise IsPermanent tells whether to retry.
	Send(ctx context.Context, n *Notification, to Recipient) error
}

// Tester is implemented by channels with their own way to send a test
// notification (e.g. one that checks credentials first).
type Tester interface {
	Test(ctx context.Context, to Recipient) error
}

// BatchSender is implemented by channels that can deliver several
// notifications to one recipient as one message.
type BatchSender interface {
	SendBatch(ctx context.Context, ns []*Notification, to Recipient) error
}

// Closer is implemented by channels holding long-lived connections.
type Closer interface {
	Close(ctx context.Context) error
}

// SendTest sends a test notification through nf: its Tester when it has
// one, else an ordinary Send of a TypeTest notification.
func SendTest(ctx context.Context, nf Notifier, site string, to Recipient) error {
	if t, ok := nf.(Tester); ok {
		return t.Test(ctx, to)
	}
	return nf.Send(ctx, TestNotification(site), to)
}

// TestNotification builds the notification SendTest delivers.
func TestNotification(site string) *Notification {
	now := time.Now()
	return &Notification{
		Type:    TypeTest,
		Site:    site,
		Check:   Check{Kind: "service", Name: "test", Summary: "Test notification", Host: "bergamot"},
		Status:  checks.StatusOK,
		Output:  "This is a test notification from Bergamot.",
		Since:   now,
		Time:    now,
		AlertID: "test-" + now.UTC().Format("20060102T150405.000000000"),
	}
}

// IdempotencyKey derives the stable key for one notification to one
// recipient on one channel: the same inputs always give the same key.
func IdempotencyKey(notificationID, recipientID, channel string) string {
	h := sha256.New()
	for _, s := range []string{notificationID, recipientID, channel} {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(s), s) // a hash.Hash's Write never fails
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
