package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// ThreadID is the Message-ID of the first email about an alert; every later
// email about it (acknowledgement, escalation, recovery) refers to it in
// In-Reply-To and References, so mail clients thread them together.
func ThreadID(alertID, domain string) string {
	return "<alert." + msgIDSafe(alertID) + "@" + domain + ">"
}

// MessageID is the Message-ID of the email for n: the thread id for the
// first alert notification, otherwise one derived from the alert id, type,
// repeat count and idempotency key (stable across retries of one delivery).
func MessageID(n *notifiers.Notification, domain string) string {
	if n.Type == notifiers.TypeAlert && n.Repeat == 0 {
		return ThreadID(n.AlertID, domain)
	}
	key := n.IdempotencyKey
	if key == "" {
		key = n.When().UTC().Format("20060102T150405.000000000")
	}
	return fmt.Sprintf("<alert.%s.%s.%d.%s@%s>", msgIDSafe(n.AlertID), n.Type, n.Repeat, msgIDSafe(key), domain)
}

// msgIDSafe keeps ids made of letters, digits, '-' and '_' as they are and
// replaces anything else by a hash, so the result is a valid dot-atom part.
func msgIDSafe(s string) string {
	ok := s != "" && len(s) <= 64
	for _, r := range s {
		if !msgIDRune(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	h := sha256.Sum256([]byte(s))
	return "h" + hex.EncodeToString(h[:12])
}

func msgIDRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// BuildMessage assembles the RFC 5322 message: headers, then a
// multipart/alternative body with quoted-printable text/plain and text/html
// parts (HTML only when the template produced some).
func BuildMessage(from, to *mail.Address, domain string, n *notifiers.Notification, msg notifiers.Message) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(msg.Subject)))
	h("Date", n.When().Format(time.RFC1123Z))
	h("Message-ID", MessageID(n, domain))
	// Every message of an alert but its first refers to the first, so mail
	// clients thread them.
	if first := n.Type == notifiers.TypeAlert && n.Repeat == 0; n.AlertID != "" && !first {
		h("In-Reply-To", ThreadID(n.AlertID, domain))
		h("References", ThreadID(n.AlertID, domain))
	}
	h("Auto-Submitted", "auto-generated")
	h("X-Bergamot-Type", string(n.Type))
	if n.AlertID != "" {
		h("X-Bergamot-Alert", mime.QEncoding.Encode("utf-8", oneLine(n.AlertID)))
	}
	h("MIME-Version", "1.0")
	if msg.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		return b.Bytes(), writeQP(&b, msg.Text)
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	// The multipart writer writes into b after the headers above.
	for _, part := range []struct{ ctype, body string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("email: building message: %w", err)
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("email: building message: %w", err)
	}
	return b.Bytes(), nil
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(s)); err != nil {
		return fmt.Errorf("email: encoding body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("email: encoding body: %w", err)
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
