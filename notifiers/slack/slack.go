// Package slack delivers notifications to a Slack incoming webhook, as
// Block Kit blocks: a header, a section with the output and fields (check,
// host, status, duration), a context line and buttons linking to the
// dashboard and the acknowledgement page.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Channel is the channel name.
const Channel = "slack"

var _ notifiers.Notifier = (*Notifier)(nil)

// Config configures one Slack incoming webhook.
type Config struct {
	// WebhookURL is the incoming webhook (https://hooks.slack.com/services/...). Required.
	WebhookURL string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	if err := notifiers.ValidateHTTPURL(Channel, "webhook url", c.WebhookURL); err != nil {
		return err
	}
	if c.Timeout < 0 {
		return fmt.Errorf("slack: timeout %s must not be negative", c.Timeout)
	}
	return nil
}

// Notifier posts to one Slack incoming webhook.
type Notifier struct {
	cfg       Config
	client    *http.Client
	templates *notifiers.Templates
}

// New validates cfg and returns a Notifier; client may be nil.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Notifier{cfg: cfg, client: client, templates: notifiers.DefaultTemplates()}, nil
}

// Name returns "slack".
func (*Notifier) Name() string { return Channel }

// Send posts the message for n. The recipient is not used: the webhook
// decides the Slack channel.
func (s *Notifier) Send(ctx context.Context, n *notifiers.Notification, _ notifiers.Recipient) error {
	msg, err := notifiers.RenderWith(s.templates, Channel, n)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("slack: %w", err))
	}
	body, err := json.Marshal(BuildMessage(n, msg))
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("slack: encoding message: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("slack: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	_, err = notifiers.DoHTTP(s.client, Channel, req)
	var he *notifiers.HTTPError
	if errors.As(err, &he) && slackErrorCode.MatchString(he.Body) {
		// Slack answers a short error code ("no_service", "invalid_token"):
		// say it, but never echo any other body.
		he.Code = he.Body
	}
	return err
}

// slackErrorCode matches Slack's incoming-webhook error codes.
var slackErrorCode = regexp.MustCompile(`^[a-z][a-z_]{1,40}$`)

// Message is an incoming-webhook message.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is one Block Kit block (only the fields Bergamot uses).
type Block struct {
	Type     string    `json:"type"`
	Text     *Text     `json:"text,omitempty"`
	Fields   []Text    `json:"fields,omitempty"`
	Elements []Element `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Element is a context text or an actions button.
type Element struct {
	Type  string `json:"type"`
	Text  any    `json:"text"`
	URL   string `json:"url,omitempty"`
	Style string `json:"style,omitempty"`
}

// BuildMessage lays out the blocks for n with its rendered text.
func BuildMessage(n *notifiers.Notification, msg notifiers.Message) Message {
	fields := []Text{
		mrk("*Check*\n" + Escape(n.Check.Name)),
		mrk("*Status*\n" + n.Status.String()),
	}
	if n.Check.Host != "" {
		fields = append(fields, mrk("*Host*\n"+Escape(n.Check.Host)))
	}
	if n.Duration > 0 {
		fields = append(fields, mrk("*Duration*\n"+notifiers.HumanDuration(n.Duration)))
	}
	section := Block{Type: "section", Fields: fields}
	if body := strings.TrimSpace(msg.Text); body != "" {
		section.Text = &Text{Type: "mrkdwn", Text: "```" + limit(Escape(body), 2990) + "```"}
	}
	ctxText := Escape(n.Site) + " · " + n.When().UTC().Format("2006-01-02 15:04 MST")
	if n.Previous != n.Status {
		ctxText += " · was " + n.Previous.String()
	}
	blocks := []Block{
		{Type: "header", Text: &Text{Type: "plain_text", Text: limit(msg.Subject, 150), Emoji: true}},
		section,
		{Type: "context", Elements: []Element{{Type: "mrkdwn", Text: ctxText}}},
	}
	var buttons []Element
	if n.DashboardURL != "" {
		buttons = append(buttons, Element{Type: "button", Text: Text{Type: "plain_text", Text: "Open dashboard"}, URL: n.DashboardURL, Style: "primary"})
	}
	if n.AckURL != "" {
		buttons = append(buttons, Element{Type: "button", Text: Text{Type: "plain_text", Text: "Acknowledge"}, URL: n.AckURL})
	}
	if len(buttons) > 0 {
		blocks = append(blocks, Block{Type: "actions", Elements: buttons})
	}
	return Message{Text: msg.Subject, Blocks: blocks}
}

func mrk(s string) Text { return Text{Type: "mrkdwn", Text: limit(s, 2000)} }

// Escape escapes &, < and > as Slack's mrkdwn requires.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func limit(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
