package webhook

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// PayloadVersion is the version of the JSON body.
const PayloadVersion = 1

// Payload is the JSON body of a webhook request (version 1). Fields may be
// added in version 1; removing or changing one makes version 2.
type Payload struct {
	Version        int       `json:"version"`
	Type           string    `json:"type"`
	Site           string    `json:"site"`
	AlertID        string    `json:"alert_id,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Time           time.Time `json:"time"`
	Check          Check     `json:"check"`
	Status         string    `json:"status"`
	PreviousStatus string    `json:"previous_status"`
	Output         string    `json:"output"`
	LongOutput     string    `json:"long_output,omitempty"`
	// Since is when the status began; DurationSeconds how long it has held.
	Since           *time.Time `json:"since,omitempty"`
	DurationSeconds int64      `json:"duration_seconds"`
	DashboardURL    string     `json:"dashboard_url,omitempty"`
	AckURL          string     `json:"ack_url,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	Author          string     `json:"author,omitempty"`
	MoreProblems    int        `json:"more_problems,omitempty"`
	Escalation      int        `json:"escalation,omitempty"`
	// Subject and Text are the rendered webhook templates.
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	Recipient Recipient `json:"recipient"`
}

// Check is the check in a Payload.
type Check struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Summary string `json:"summary,omitempty"`
	Host    string `json:"host,omitempty"`
}

// Recipient is the recipient in a Payload. Its fields are a published
// format (docs/notifications.md): the addresses a contact has on the
// email, sms and irc channels.
type Recipient struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	IRCNick string `json:"irc_nick,omitempty"`
}

// NewPayload builds the payload for one notification and recipient.
func NewPayload(n *notifiers.Notification, to notifiers.Recipient, msg notifiers.Message) Payload {
	p := Payload{
		Version: PayloadVersion, Type: string(n.Type), Site: n.Site, AlertID: n.AlertID,
		IdempotencyKey: n.IdempotencyKey, Time: n.When().UTC(),
		Check:  Check{ID: n.Check.ID, Kind: n.Check.Kind, Name: n.Check.Name, Summary: n.Check.Summary, Host: n.Check.Host},
		Status: n.Status.String(), PreviousStatus: n.Previous.String(),
		Output: n.Output, LongOutput: n.LongOutput, DurationSeconds: int64(n.Duration.Seconds()),
		DashboardURL: n.DashboardURL, AckURL: n.AckURL, Comment: n.Comment, Author: n.Author,
		MoreProblems: n.More, Escalation: n.Escalation, Subject: msg.Subject, Text: msg.Text,
		Recipient: Recipient{ID: to.ID, Name: to.Name, Email: to.Address("email"), Phone: to.Address("sms"), IRCNick: to.Address("irc")},
	}
	if !n.Since.IsZero() {
		s := n.Since.UTC()
		p.Since = &s
	}
	return p
}
