package notifiers

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htemplate "html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	ttemplate "text/template"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

//go:embed templates/*.tmpl
var defaultTemplateFS embed.FS

// Template parts. A channel's text templates define "<type>.subject" and
// "<type>.body", falling back to "default.subject" and "default.body"; the
// email HTML template defines "<type>.html" falling back to "default.html".
const (
	PartSubject = "subject"
	PartBody    = "body"
	PartHTML    = "html"
)

// ErrNoTemplate is returned by Render for a channel without templates.
var ErrNoTemplate = errors.New("notifiers: no templates for channel")

// Message is a rendered notification.
type Message struct {
	Subject string
	Text    string
	// HTML is set only for channels with an HTML template (email).
	HTML string
}

// Templates renders notifications per channel and type. The zero value is
// not usable; start from DefaultTemplates and Override per site. Safe for
// concurrent use.
type Templates struct {
	mu   sync.RWMutex
	text map[string]*ttemplate.Template
	html *htemplate.Template
	// htmlOverrides holds the site's HTML templates by name.
	htmlOverrides map[string]string
}

// DefaultTemplates returns a fresh copy of the embedded default templates,
// for the channels email, sms, irc, slack and webhook, and of the templates
// other channels registered (RegisterTemplates).
func DefaultTemplates() *Templates {
	t := &Templates{text: map[string]*ttemplate.Template{}}
	entries, err := defaultTemplateFS.ReadDir("templates")
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".html.tmpl") {
			h, err := buildHTML(nil)
			if err != nil {
				panic(err) // embedded at build time, covered by tests
			}
			t.html = h
			continue
		}
		channel := strings.TrimSuffix(name, ".tmpl")
		t.text[channel] = ttemplate.Must(ttemplate.New(name).Funcs(templateFuncs()).ParseFS(defaultTemplateFS, "templates/"+name))
	}
	registeredTemplates(t)
	return t
}

// Channels lists the channels that have templates.
func (t *Templates) Channels() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.text))
	for c := range t.text {
		out = append(out, c)
	}
	return out
}

// Override replaces the subject and/or body template of one channel and
// notification type ("default" for the fallback used by types without their
// own). An empty subject or body leaves that part as it was. The templates
// are parsed and executed against a sample notification first; on any error
// nothing changes and the error names the channel, type and part.
func (t *Templates) Override(channel string, typ Type, subject, body string) error {
	if typ != "default" && !typ.Valid() {
		_, err := ParseType(string(typ))
		return fmt.Errorf("template %s/%s: %w", channel, typ, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	base, ok := t.text[channel]
	if !ok {
		return fmt.Errorf("template %s/%s: %w %q", channel, typ, ErrNoTemplate, channel)
	}
	next, err := base.Clone()
	if err != nil {
		return fmt.Errorf("template %s/%s: %w", channel, typ, err)
	}
	for _, p := range []struct{ part, src string }{{PartSubject, subject}, {PartBody, body}} {
		if p.src == "" {
			continue
		}
		name := string(typ) + "." + p.part
		if _, err := next.New(name).Parse(p.src); err != nil {
			return fmt.Errorf("template %s/%s %s: %w", channel, typ, p.part, err)
		}
		if err := next.ExecuteTemplate(&bytes.Buffer{}, name, sampleNotification(typ)); err != nil {
			return fmt.Errorf("template %s/%s %s: %w", channel, typ, p.part, err)
		}
	}
	t.text[channel] = next
	return nil
}

// OverrideHTML replaces the email HTML template of one type ("default" for
// the fallback), validated as Override does. html/template escapes values.
func (t *Templates) OverrideHTML(typ Type, body string) error {
	if typ != "default" && !typ.Valid() {
		_, err := ParseType(string(typ))
		return fmt.Errorf("template email/%s html: %w", typ, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	over := maps.Clone(t.htmlOverrides)
	if over == nil {
		over = map[string]string{}
	}
	name := string(typ) + "." + PartHTML
	over[name] = body
	// html/template cannot be cloned once executed, so the set is rebuilt
	// from the embedded default plus every override.
	next, err := buildHTML(over)
	if err != nil {
		return fmt.Errorf("template email/%s html: %w", typ, err)
	}
	if err := next.ExecuteTemplate(&bytes.Buffer{}, name, sampleNotification(typ)); err != nil {
		return fmt.Errorf("template email/%s html: %w", typ, err)
	}
	t.html, t.htmlOverrides = next, over
	return nil
}

func buildHTML(overrides map[string]string) (*htemplate.Template, error) {
	h, err := htemplate.New("email.html.tmpl").Funcs(templateFuncs()).ParseFS(defaultTemplateFS, "templates/email.html.tmpl")
	if err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(overrides))
	for _, name := range names {
		if _, err := h.New(name).Parse(overrides[name]); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Render renders n for a channel. HTML is filled for email only.
func (t *Templates) Render(channel string, n *Notification) (Message, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	tt, ok := t.text[channel]
	if !ok {
		return Message{}, fmt.Errorf("%w %q", ErrNoTemplate, channel)
	}
	var m Message
	var err error
	if m.Subject, err = execText(tt, n, PartSubject); err != nil {
		return Message{}, fmt.Errorf("template %s/%s: %w", channel, n.Type, err)
	}
	if m.Text, err = execText(tt, n, PartBody); err != nil {
		return Message{}, fmt.Errorf("template %s/%s: %w", channel, n.Type, err)
	}
	if channel == "email" && t.html != nil {
		name := string(n.Type) + "." + PartHTML
		if t.html.Lookup(name) == nil {
			name = "default." + PartHTML
		}
		var b bytes.Buffer
		if err := t.html.ExecuteTemplate(&b, name, n); err != nil {
			return Message{}, fmt.Errorf("template email/%s html: %w", n.Type, err)
		}
		m.HTML = b.String()
	}
	return m, nil
}

// execText runs "<type>.<part>" or "default.<part>"; a channel without the
// part (e.g. sms has no subject) renders "".
func execText(tt *ttemplate.Template, n *Notification, part string) (string, error) {
	name := string(n.Type) + "." + part
	if tt.Lookup(name) == nil {
		name = "default." + part
		if tt.Lookup(name) == nil {
			return "", nil
		}
	}
	var b bytes.Buffer
	if err := tt.ExecuteTemplate(&b, name, n); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// RenderWith renders n with n.Templates, or with def when that is nil.
func RenderWith(def *Templates, channel string, n *Notification) (Message, error) {
	if n.Templates != nil {
		return n.Templates.Render(channel, n)
	}
	return def.Render(channel, n)
}

func templateFuncs() ttemplate.FuncMap {
	return ttemplate.FuncMap{
		"duration":    HumanDuration,
		"timestamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
		"plural":      func(n int, one, many string) string { return map[bool]string{true: one, false: many}[n == 1] },
		"statusColor": statusColor,
		"upper":       strings.ToUpper,
		"lower":       strings.ToLower,
	}
}

func statusColor(s checks.Status) string {
	switch {
	case s.OK():
		return "#2e7d32"
	case s == checks.StatusWarning:
		return "#ef6c00"
	case s == checks.StatusUnknown:
		return "#6a1b9a"
	}
	return "#c62828"
}

// HumanDuration formats d for people: "45s", "12m", "3h 5m", "2d 4h".
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh %dm", h, m)
		}
		return fmt.Sprintf("%dh", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h != 0 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}

func sampleNotification(typ Type) *Notification {
	if typ == "default" {
		typ = TypeAlert
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return &Notification{
		Type: typ, Site: "example", Check: Check{ID: "c1", Kind: "service", Name: "disk", Summary: "Disk /", Host: "web1"},
		Status: checks.StatusCritical, Previous: checks.StatusOK, Output: "DISK CRITICAL - 97% used",
		Since: now.Add(-time.Hour), Duration: time.Hour, Time: now, DashboardURL: "https://example.invalid/c/c1",
		AckURL: "https://example.invalid/ack/x", Comment: "looking", Author: "alice", AlertID: "a1", More: 2,
	}
}
