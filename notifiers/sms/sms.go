// Package sms sends notifications as text messages through Twilio's REST
// API (or anything speaking its shape): POST
// {base}/2010-04-01/Accounts/{AccountSID}/Messages.json with form fields
// To, From and Body, authenticated with HTTP basic auth SID:token. Each
// message fits one SMS segment (see Fit).
package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Channel is the channel name.
const Channel = "sms"

// DefaultBaseURL is Twilio's API.
const DefaultBaseURL = "https://api.twilio.com"

// Errors.
var (
	ErrNoPhone      = errors.New("sms: recipient has no phone number")
	ErrInvalidPhone = errors.New("sms: phone number is not in E.164 form (+ and 7 to 15 digits)")
)

var _ notifiers.Notifier = (*Notifier)(nil)

var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	accountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
)

// Config configures a Twilio account.
type Config struct {
	// AccountSID ("AC" + 32 hex digits) and AuthToken authenticate. Required.
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164) or a messaging service SID ("MG..."). Required.
	From string
	// BaseURL is the API root (default https://api.twilio.com).
	BaseURL string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	switch {
	case c.AccountSID == "":
		return errors.New("sms: account sid is required")
	case !accountSID.MatchString(c.AccountSID):
		return fmt.Errorf("sms: account sid %q must be AC followed by 32 hex digits", c.AccountSID)
	case c.AuthToken == "":
		return errors.New("sms: auth token is required")
	case c.From == "":
		return errors.New("sms: from is required")
	case !e164.MatchString(c.From) && !strings.HasPrefix(c.From, "MG"):
		return fmt.Errorf("sms: from %q must be an E.164 number (+441234567890) or a messaging service SID (MG...)", c.From)
	case c.Timeout < 0:
		return fmt.Errorf("sms: timeout %s must not be negative", c.Timeout)
	}
	if c.BaseURL != "" {
		return notifiers.ValidateHTTPURL(Channel, "base url", c.BaseURL)
	}
	return nil
}

// Notifier sends text messages through one account.
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
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Notifier{cfg: cfg, client: client, templates: notifiers.DefaultTemplates()}, nil
}

// Name returns "sms".
func (*Notifier) Name() string { return Channel }

// APIError is the error document Twilio returns.
type APIError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("sms: twilio error %d: %s", e.Code, e.Message)
}

// Send texts the rendered notification to the recipient's phone number.
func (s *Notifier) Send(ctx context.Context, n *notifiers.Notification, to notifiers.Recipient) error {
	phone := to.Address(Channel)
	if phone == "" {
		return notifiers.Permanent(fmt.Errorf("%w (%s)", ErrNoPhone, to.Name))
	}
	if !e164.MatchString(phone) {
		return notifiers.Permanent(fmt.Errorf("%w: %q (%s)", ErrInvalidPhone, phone, to.Name))
	}
	msg, err := notifiers.RenderWith(s.templates, Channel, n)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("sms: %w", err))
	}
	form := url.Values{"To": {phone}, "Body": {Fit(msg.Text)}}
	if strings.HasPrefix(s.cfg.From, "MG") {
		form.Set("MessagingServiceSid", s.cfg.From)
	} else {
		form.Set("From", s.cfg.From)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	endpoint := s.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(s.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("sms: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	body, err := notifiers.DoHTTP(s.client, Channel, req)
	var he *notifiers.HTTPError
	if errors.As(err, &he) {
		var ae APIError
		if json.Unmarshal(body, &ae) == nil && ae.Code != 0 {
			// Keep the HTTP classification, but say what Twilio said.
			wrapped := fmt.Errorf("%w (HTTP %d)", &ae, he.StatusCode)
			if notifiers.IsPermanent(err) {
				return notifiers.Permanent(wrapped)
			}
			return wrapped
		}
	}
	return err
}
