package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// NotifyWorker fans one event out into deliveries.
type NotifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	d *Dispatcher
}

// checkInfo is the check a notification is about.
type checkInfo struct {
	id       uuid.UUID
	check    notifiers.Check
	settings store.CheckSettings
}

// payload is what a delivery row holds: the notification and its recipient.
type payload struct {
	N  notifiers.Notification `json:"n"`
	To notifiers.Recipient    `json:"to"`
}

// target is one recipient on one channel.
type target struct {
	contact *config.Contact
	to      notifiers.Recipient
	channel string
}

// Work resolves recipients and channels and records one delivery (with a
// DeliverArgs job) per pair, completing the job in the same transaction.
func (w *NotifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	a := job.Args
	ctx = tenants.WithSite(ctx, a.Site)
	rc := river.ClientFromContext[pgx.Tx](ctx)
	return tenants.InSite(ctx, w.d.Pool, func(ctx context.Context, tx pgx.Tx) error {
		site, err := w.d.sites.load(ctx, tx, a.Site, w.d.Sealer)
		if err != nil {
			return err
		}
		chk, err := loadCheck(ctx, tx, a.Check)
		if errors.Is(err, pgx.ErrNoRows) {
			w.d.Logger.InfoContext(ctx, "notification for a removed check dropped", slog.String("check", a.Check.String()))
			_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		}
		if err != nil {
			return err
		}
		now := time.Now()
		base := w.d.notification(site, chk, a)
		var inserts []river.InsertManyParams
		for _, t := range w.d.targets(ctx, site, chk, a, now) {
			key := notifiers.IdempotencyKey(a.ID, t.contact.Name, t.channel)
			n := *base
			n.IdempotencyKey = key
			n.AckURL = w.d.ackURL(a, t.contact.Name, now)
			body, err := json.Marshal(payload{N: n, To: t.to})
			if err != nil {
				return fmt.Errorf("encoding delivery: %w", err)
			}
			check := a.Check
			inserted, err := store.InsertDelivery(ctx, tx, a.Site, store.Delivery{Key: key, Check: &check, Alert: a.Alert, Kind: string(a.Type),
				Recipient: t.contact.Name, Channel: t.channel, Payload: body})
			if err != nil {
				return fmt.Errorf("recording delivery: %w", err)
			}
			if inserted {
				inserts = append(inserts, river.InsertManyParams{Args: DeliverArgs{Site: a.Site, Key: key},
					InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: w.d.MaxAttempts}})
			}
		}
		if len(inserts) > 0 {
			if rc == nil {
				return errors.New("notify: no River client in context")
			}
			if _, err := rc.InsertManyTx(ctx, tx, inserts); err != nil {
				return fmt.Errorf("queueing deliveries: %w", err)
			}
		}
		_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

func loadCheck(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*checkInfo, error) {
	c := &checkInfo{id: id}
	row, err := store.LoadNotifyCheck(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	settings := row.Settings
	c.check.Kind, c.check.Name, c.check.Summary, c.check.Host = row.Kind, row.Name, row.Summary, row.Host
	c.check.ID = id.String()
	if c.check.Kind == "host" {
		c.check.Host = c.check.Name
	}
	if err := json.Unmarshal(settings, &c.settings); err != nil {
		return nil, fmt.Errorf("check %s settings: %w", id, err)
	}
	return c, nil
}

// notification builds the message common to every recipient.
func (d *Dispatcher) notification(site *siteInfo, chk *checkInfo, a NotifyArgs) *notifiers.Notification {
	st, _ := checks.ParseStatus(a.Status)
	prev, _ := checks.ParseStatus(a.Previous)
	n := &notifiers.Notification{Type: a.Type, Site: site.name, Check: chk.check, Status: st, Previous: prev,
		Output: a.Output, LongOutput: a.LongOutput, Since: a.Since, Time: a.Time, Comment: a.Comment, Author: a.Author}
	if !a.Since.IsZero() && a.Time.After(a.Since) {
		n.Duration = a.Time.Sub(a.Since)
	}
	if a.Alert != nil {
		n.AlertID = a.Alert.String()
	} else {
		n.AlertID = a.Check.String()
	}
	if a.Type == notifiers.TypeEscalation {
		n.Escalation = a.Level + 1
	}
	if a.Repeat {
		n.Repeat = 1
	}
	if d.BaseURL != "" {
		n.DashboardURL = d.BaseURL + "/#/check/" + a.Check.String()
	}
	return n
}

// ackURL signs an acknowledgement link for a problem notification.
func (d *Dispatcher) ackURL(a NotifyArgs, contact string, now time.Time) string {
	if len(d.AckKey) == 0 || d.BaseURL == "" || a.Alert == nil || !problemType(a.Type) {
		return ""
	}
	return d.BaseURL + "/ack/" + notifiers.SignAck(d.AckKey, ackSubject(a.Site, *a.Alert, contact), now.Add(d.AckTTL))
}

// targets resolves who gets the notification on which channels, applying
// the check's and each contact's settings. Pairs filtered out are logged.
func (d *Dispatcher) targets(ctx context.Context, site *siteInfo, chk *checkInfo, a NotifyArgs, now time.Time) []target {
	cn := chk.settings.Notifications
	var out []target
	for _, c := range d.recipients(site, chk, a, now) {
		p, err := site.contactParams(c)
		if err != nil {
			d.Logger.WarnContext(ctx, "contact channel settings", slog.String("contact", c.Name), slog.Any("error", err))
			continue
		}
		to := d.Channels.recipient(c)
		for _, name := range d.Channels.Names() {
			ch, _ := d.Channels.Lookup(name)
			if !ch.Reachable(to, p) {
				continue
			}
			why := allowed(cn, "check", a.Type, a.Status, name, now, site.inPeriod)
			if why == "" {
				why = allowed(c.Notifications, "contact "+c.Name, a.Type, a.Status, name, now, site.inPeriod)
			}
			if why != "" {
				d.Logger.DebugContext(ctx, "notification filtered", slog.String("contact", c.Name), slog.String("channel", name), slog.String("reason", why))
				continue
			}
			out = append(out, target{contact: c, to: to, channel: name})
		}
	}
	return out
}

// recipients lists the contacts for the notification: an escalation
// level's people (plus the check's own when it renotifies), otherwise the
// check's contacts and its teams' members, plus, for recoveries and
// acknowledgements, the people of the levels already escalated to.
func (d *Dispatcher) recipients(site *siteInfo, chk *checkInfo, a NotifyArgs, now time.Time) []*config.Contact {
	cn := chk.settings.Notifications
	seen := map[string]bool{}
	var out []*config.Contact
	add := func(contacts, teams []string) {
		for _, name := range contacts {
			if c, ok := site.contacts[name]; ok && !seen[name] {
				seen[name] = true
				out = append(out, c)
			}
		}
		for _, team := range teams {
			for _, name := range sortedKeys(site.contacts) {
				if c := site.contacts[name]; !seen[name] && site.inTeam(c, team) {
					seen[name] = true
					out = append(out, c)
				}
			}
		}
	}
	if a.Type == notifiers.TypeEscalation {
		if a.Level < 0 || a.Level >= len(cn.Escalations) {
			return nil
		}
		esc := cn.Escalations[a.Level]
		if !site.inPeriod(esc.TimePeriod, now) {
			return nil
		}
		add(esc.Contacts, esc.Teams)
		if esc.Renotify {
			add(cn.Contacts, cn.Teams)
			for i := range a.Level {
				add(cn.Escalations[i].Contacts, cn.Escalations[i].Teams)
			}
		}
		return out
	}
	add(cn.Contacts, cn.Teams)
	if a.Type == notifiers.TypeRecovery || a.Type == notifiers.TypeAcknowledgement {
		for i, esc := range cn.Escalations {
			if i < 64 && a.Escalated&(1<<i) != 0 {
				add(esc.Contacts, esc.Teams)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ackSubject is what an ack link signs: site, alert and recipient.
func ackSubject(site, alert uuid.UUID, contact string) string {
	return site.String() + "/" + alert.String() + "/" + contact
}
