package dispatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// AckHandler serves acknowledgement links: GET /ack/{token} shows what
// would be acknowledged and a button (so link previewers and mail scanners
// acknowledge nothing); POST /ack/{token} acknowledges the alert, once:
// the token is recorded in ack_tokens_used and a second use answers 410.
// Mount it at "/ack/".
func (d *Dispatcher) AckHandler() http.Handler {
	d.defaults()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ack/{token}", func(w http.ResponseWriter, r *http.Request) { d.serveAck(w, r, false) })
	mux.HandleFunc("POST /ack/{token}", func(w http.ResponseWriter, r *http.Request) { d.serveAck(w, r, true) })
	return mux
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Title}}</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}button{font-size:1.1em;padding:.5em 1.2em}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Form}}<form method="post"><button type="submit">Acknowledge</button></form>{{end}}
</body></html>`))

type ackView struct {
	Title, Message string
	Form           bool
}

func (d *Dispatcher) serveAck(w http.ResponseWriter, r *http.Request, post bool) {
	ctx := r.Context()
	token := r.PathValue("token")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	render := func(code int, v ackView) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = ackPage.Execute(w, v)
	}
	site, alert, contact, err := d.verifyAck(token, time.Now())
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, notifiers.ErrAckExpired) {
			code = http.StatusGone
		}
		render(code, ackView{Title: "Link not valid", Message: err.Error()})
		return
	}
	ctx = tenants.WithSite(ctx, site)
	var label string
	err = tenants.InSite(ctx, d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		al, err := store.LoadAckAlert(ctx, tx, alert)
		if err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.E(errs.NotFound, "the alert no longer exists")
			}
			return err
		}
		checkID, recovered, acked := al.Check, al.Recovered, al.Acked
		label = notifiers.Check{Name: al.CheckName, Host: al.HostName}.Label()
		sum := sha256.Sum256([]byte(token))
		used, err := store.AckTokenUsed(ctx, tx, sum[:])
		if err != nil {
			return err
		}
		if err := store.ContactAuthorize(ctx, tx, contact, checkID, config.PermAcknowledge); err != nil {
			return err
		}
		switch {
		case used:
			return errs.E(errs.Conflict, "this link was already used")
		case recovered:
			return errs.E(errs.Conflict, "%s has recovered: there is nothing to acknowledge", label)
		case !post:
			return nil
		}
		if err := store.UseAckToken(ctx, tx, site, sum[:], alert); err != nil {
			return fmt.Errorf("recording link use: %w", err)
		}
		if acked {
			return nil
		}
		_, err = store.Acknowledge(ctx, tx, checkID.String(), contact, "acknowledged from the notification link", false)
		return err
	})
	switch {
	case errs.Is(err, errs.NotFound):
		render(http.StatusNotFound, ackView{Title: "Link not valid", Message: err.Error()})
	case errs.Is(err, errs.Forbidden):
		render(http.StatusForbidden, ackView{Title: "Not allowed", Message: err.Error()})
	case errs.Is(err, errs.Conflict):
		render(http.StatusGone, ackView{Title: "Nothing to do", Message: err.Error()})
	case errs.Is(err, errs.Invalid):
		render(http.StatusConflict, ackView{Title: "Nothing to do", Message: err.Error()})
	case err != nil:
		d.Logger.ErrorContext(ctx, "ack link failed", slog.Any("error", err))
		render(http.StatusInternalServerError, ackView{Title: "Something went wrong", Message: "The alert could not be acknowledged; try the dashboard."})
	case post:
		render(http.StatusOK, ackView{Title: "Acknowledged", Message: label + " is acknowledged. Notifications about this problem stop until it changes."})
	default:
		render(http.StatusOK, ackView{Title: "Acknowledge " + label + "?", Message: "Acknowledging tells everyone notified that you are on it.", Form: true})
	}
}

// verifyAck checks a token and splits its subject into site, alert and
// contact.
func (d *Dispatcher) verifyAck(token string, now time.Time) (site, alert uuid.UUID, contact string, err error) {
	if len(d.AckKey) == 0 {
		return site, alert, "", errors.New("acknowledgement links are not enabled")
	}
	subject, _, err := notifiers.VerifyAck(d.AckKey, token, now)
	if err != nil {
		return site, alert, "", err
	}
	parts := strings.SplitN(subject, "/", 3)
	if len(parts) != 3 {
		return site, alert, "", notifiers.ErrAckMalformed
	}
	if site, err = uuid.Parse(parts[0]); err != nil {
		return site, alert, "", notifiers.ErrAckMalformed
	}
	if alert, err = uuid.Parse(parts[1]); err != nil {
		return site, alert, "", notifiers.ErrAckMalformed
	}
	return site, alert, parts[2], nil
}
