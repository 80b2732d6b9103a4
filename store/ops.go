package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/live/wire"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// NOTIFY channels. ChecksChannel carries the live-update payload (ids
// only; package live/wire encodes and decodes it); ResultsChannel wakes
// result processors; ConfigChannel carries the site id of every
// configuration change.
const (
	ChecksChannel  = wire.Channel
	ResultsChannel = "bergamot_results"
	ConfigChannel  = "bergamot_config"
)

// saveMachine saves an API change of a check's state (acknowledgement,
// downtime, suppression) with its flag columns, and announces it.
func saveMachine(ctx context.Context, tx pgx.Tx, id uuid.UUID, st monitor.State) error {
	if err := SaveState(ctx, tx, id, st, MirrorAcknowledged|MirrorInDowntime|MirrorSuppressed); err != nil {
		return err
	}
	return announce(ctx, tx, id)
}

// Acknowledge acknowledges a check's problem, with a comment; it returns
// the open alert (nil when the problem is soft and no alert is open yet).
func Acknowledge(ctx context.Context, tx pgx.Tx, checkID, author, comment string, sticky bool) (*Alert, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(comment) == "" {
		return nil, errs.E(errs.Invalid, "an acknowledgement needs a comment saying who is on it")
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	st, _, err = monitor.Acknowledge(st, sticky, time.Now())
	if errors.Is(err, monitor.ErrNoProblem) {
		return nil, errs.E(errs.Invalid, "the check is OK: there is no problem to acknowledge")
	}
	if err != nil {
		return nil, err
	}
	if err := saveMachine(ctx, tx, id, st); err != nil {
		return nil, err
	}
	alerts, err := collectAlerts(tx.Query(ctx, `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2
		WHERE check_id = $1 AND recovered_at IS NULL RETURNING id, check_id, status, output, opened_at, updated_at, recovered_at,
		acknowledged_at, acknowledged_by, escalation_level`, id, author))
	if err != nil {
		return nil, err
	}
	var alert *Alert
	var alertID any
	if len(alerts) > 0 {
		alert, alertID = alerts[0], alerts[0].ID
	}
	site, _ := tenants.SiteFrom(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO comments (id, site_id, check_id, alert_id, author, body) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.New(), site, id, alertID, author, "Acknowledged: "+comment); err != nil {
		return nil, fmt.Errorf("recording comment: %w", err)
	}
	return alert, nil
}

// Unacknowledge removes an acknowledgement.
func Unacknowledge(ctx context.Context, tx pgx.Tx, checkID string) error {
	id, err := ParseID(checkID)
	if err != nil {
		return err
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return err
	}
	st, _ = monitor.Unacknowledge(st, time.Now())
	if _, err := tx.Exec(ctx, `UPDATE alerts SET acknowledged_at = NULL, acknowledged_by = NULL WHERE check_id = $1 AND recovered_at IS NULL`, id); err != nil {
		return fmt.Errorf("unacknowledging: %w", err)
	}
	return saveMachine(ctx, tx, id, st)
}

// ScheduleDowntime plans a downtime window for a check.
func ScheduleDowntime(ctx context.Context, tx pgx.Tx, checkID, author, comment string, start, end time.Time) (*Downtime, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	if !end.After(start) {
		return nil, errs.E(errs.Invalid, "the downtime must end after it starts")
	}
	if end.Before(time.Now()) {
		return nil, errs.E(errs.Invalid, "the downtime is entirely in the past")
	}
	if strings.TrimSpace(comment) == "" {
		return nil, errs.E(errs.Invalid, "a downtime needs a comment saying why")
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	site, _ := tenants.SiteFrom(ctx)
	d := &Downtime{ID: uuid.NewString(), CheckID: id.String(), Start: start, End: end, Comment: comment, Author: author}
	if _, err := tx.Exec(ctx, `INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		d.ID, site, id, start, end, comment, author); err != nil {
		return nil, fmt.Errorf("scheduling downtime: %w", err)
	}
	now := time.Now()
	if !now.Before(start) && now.Before(end) && !st.InDowntime {
		if _, err := flipDowntime(ctx, tx, id, st, true, now); err != nil {
			return nil, err
		}
	}
	return downtimeByID(ctx, tx, d.ID)
}

// CancelDowntime cancels a downtime.
func CancelDowntime(ctx context.Context, tx pgx.Tx, downtimeID string) error {
	if _, err := uuid.Parse(downtimeID); err != nil {
		return errs.E(errs.NotFound, "no downtime with id %q", downtimeID)
	}
	var checkID uuid.UUID
	err := tx.QueryRow(ctx, `UPDATE downtimes SET cancelled_at = now() WHERE id = $1 AND cancelled_at IS NULL RETURNING check_id`, downtimeID).Scan(&checkID)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "no active downtime with id %q", downtimeID)
	}
	if err != nil {
		return fmt.Errorf("cancelling downtime: %w", err)
	}
	still, err := downtimeStill(ctx, tx, checkID)
	if err != nil {
		return err
	}
	st, err := LoadState(ctx, tx, checkID)
	if err != nil {
		return err
	}
	if st.InDowntime && !still {
		_, err = flipDowntime(ctx, tx, checkID, st, false, time.Now())
	}
	return err
}

// SetSuppressed suppresses or unsuppresses a check's notifications.
func SetSuppressed(ctx context.Context, tx pgx.Tx, checkID string, suppressed bool) error {
	id, err := ParseID(checkID)
	if err != nil {
		return err
	}
	st, err := LoadState(ctx, tx, id)
	if err != nil {
		return err
	}
	st.Suppressed = suppressed
	if _, err := tx.Exec(ctx, `UPDATE checks SET suppressed = $2 WHERE id = $1`, id, suppressed); err != nil {
		return fmt.Errorf("suppressing: %w", err)
	}
	return saveMachine(ctx, tx, id, st)
}

// SubmitResult records a passive result for a check of the site.
func SubmitResult(ctx context.Context, tx pgx.Tx, checkID string, status checks.Status, output, source string) error {
	id, err := ParseID(checkID)
	if err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM checks WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("submitting result: %w", err)
	}
	if !exists {
		return errs.E(errs.NotFound, "no check with id %q", checkID)
	}
	return submit(ctx, tx, id, status, output, source)
}

func submit(ctx context.Context, tx pgx.Tx, id uuid.UUID, status checks.Status, output, source string) error {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return err
	}
	po := checks.ParsePluginOutput([]byte(output))
	perf, warns := checks.ParsePerfdata(po.Perfdata)
	res := checks.Result{Status: status, Output: po.Status, LongOutput: po.LongOutput, Perfdata: perf, PerfdataWarnings: warns,
		Started: time.Now(), Worker: source}
	body, err := checks.DefaultLimits.Encode(&res)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`, site, id, body); err != nil {
		return fmt.Errorf("submitting result: %w", err)
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), '')`, ResultsChannel)
	return err
}

// SubmitResultByName records a passive result for host (and service, when
// not empty) found by name, address or external reference.
func SubmitResultByName(ctx context.Context, tx pgx.Tx, host, service string, status checks.Status, output, source string) (string, error) {
	var id uuid.UUID
	var err error
	if service == "" {
		err = tx.QueryRow(ctx, `SELECT id FROM checks WHERE kind = 'host' AND (name = $1 OR address = $1 OR external_ref = $1) ORDER BY name = $1 DESC LIMIT 1`, host).Scan(&id)
	} else {
		err = tx.QueryRow(ctx, `SELECT c.id FROM checks c JOIN checks h ON h.id = c.parent_id
			WHERE c.kind IN ('service', 'trap') AND (c.name = $2 OR c.external_ref = $2) AND (h.name = $1 OR h.address = $1 OR h.external_ref = $1) LIMIT 1`, host, service).Scan(&id)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if service == "" {
			return "", errs.E(errs.NotFound, "no host %q", host)
		}
		return "", errs.E(errs.NotFound, "no service %q on host %q", service, host)
	}
	if err != nil {
		return "", fmt.Errorf("finding check: %w", err)
	}
	return id.String(), submit(ctx, tx, id, status, output, source)
}

// AddComment adds a comment to a check (and its open alert).
func AddComment(ctx context.Context, tx pgx.Tx, checkID, author, body string) (*Comment, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(body) == "" {
		return nil, errs.E(errs.Invalid, "the comment is empty")
	}
	site, _ := tenants.SiteFrom(ctx)
	c := &Comment{ID: uuid.NewString(), Author: author, Body: body, CreatedAt: time.Now()}
	tag, err := tx.Exec(ctx, `INSERT INTO comments (id, site_id, check_id, alert_id, author, body)
		SELECT $1, $2, c.id, (SELECT a.id FROM alerts a WHERE a.check_id = c.id AND a.recovered_at IS NULL), $4, $5 FROM checks c WHERE c.id = $3`,
		c.ID, site, id, author, body)
	if err != nil {
		return nil, fmt.Errorf("adding comment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, errs.E(errs.NotFound, "no check with id %q", checkID)
	}
	return c, nil
}
