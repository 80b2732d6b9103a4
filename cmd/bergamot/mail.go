package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// linkSender is how account links (invitations, sign-up confirmations,
// password resets) reach people: by email through the operator's relay
// (BERGAMOT_SMTP_HOST, _PORT, _SECURITY, _USERNAME, _PASSWORD, _FROM), or,
// without one, written to the log for the operator to pass on. Links point
// at BERGAMOT_PUBLIC_URL.
func linkSender(log *slog.Logger) (tenants.LinkSender, error) {
	base := strings.TrimRight(os.Getenv("BERGAMOT_PUBLIC_URL"), "/")
	host := os.Getenv("BERGAMOT_SMTP_HOST")
	if host == "" {
		log.Warn("no mail settings: invitation, sign-up confirmation and password reset links are written to this log; set BERGAMOT_SMTP_HOST and BERGAMOT_SMTP_FROM to mail them")
		return tenants.LogLinks{Logger: log, BaseURL: base}, nil
	}
	if base == "" {
		log.Warn("BERGAMOT_PUBLIC_URL is not set: emailed links will hold only a path (/#/...), without the dashboard's address")
	}
	m, err := email.New(email.Config{Host: host, Port: envInt("BERGAMOT_SMTP_PORT"), Security: email.Security(os.Getenv("BERGAMOT_SMTP_SECURITY")),
		Username: os.Getenv("BERGAMOT_SMTP_USERNAME"), Password: os.Getenv("BERGAMOT_SMTP_PASSWORD"), From: os.Getenv("BERGAMOT_SMTP_FROM")})
	if err != nil {
		return nil, fmt.Errorf("mail settings (BERGAMOT_SMTP_*): %w", err)
	}
	return tenants.EmailLinks{Mailer: m, BaseURL: base}, nil
}
