package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// SendText delivers a plain-text message (an account email: invitation,
// confirmation, password reset) to one address through the relay.
func (e *Notifier) SendText(ctx context.Context, to, subject, text string) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return notifiers.Permanent(fmt.Errorf("%w: recipient %q: %w", ErrInvalidAddress, to, err))
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("email: message id: %w", err)
	}
	domain := e.cfg.MessageIDDomain
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", e.from.String())
	h("To", rcpt.String())
	h("Subject", mime.QEncoding.Encode("utf-8", oneLine(subject)))
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	if err := writeQP(&b, text); err != nil {
		return err
	}
	return e.deliver(ctx, rcpt.Address, b.Bytes())
}
