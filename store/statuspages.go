package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// This file owns the status page tables (migration 000044): pages, their
// components, incidents and incident updates. Editors write them through
// GraphQL; the public handler (package statuspage) reads them through
// PublicStatusPage, which answers only what a page may show: the names
// editors chose, statuses and uptime, never a check's own name or output.

// StatusPage is one public status page of a site.
type StatusPage struct {
	ID          string
	Slug        string
	Title       string
	Description string
	// Domain, when set, is a host name that serves this page at its root.
	Domain    *string
	CreatedAt time.Time
}

// StatusPageInput creates (ID empty) or changes a page.
type StatusPageInput struct {
	ID          *string
	Slug        string
	Title       string
	Description *string
	Domain      *string
}

// StatusComponent is one line of a status page: a check or a group under
// the name the editor chose.
type StatusComponent struct {
	ID          string
	PageID      string
	Name        string
	Description string
	Position    int
	CheckID     *string
	GroupName   *string
}

// StatusComponentInput creates (ID empty) or changes a component. Exactly
// one of CheckID and GroupName.
type StatusComponentInput struct {
	ID          *string
	PageID      string
	Name        string
	Description *string
	Position    *int
	CheckID     *string
	GroupName   *string
}

// StatusIncident is an incident or a maintenance notice on a page.
type StatusIncident struct {
	ID            string
	PageID        string
	Kind          string
	Title         string
	Impact        string
	State         string
	Components    []string
	ScheduledFrom *time.Time
	ScheduledTo   *time.Time
	CreatedAt     time.Time
	ResolvedAt    *time.Time
	// Updates, oldest first.
	Updates []*StatusIncidentUpdate
}

// StatusIncidentUpdate is one timestamped message of an incident.
type StatusIncidentUpdate struct {
	ID     string
	State  string
	Body   string
	Author string
	At     time.Time
}

// StatusIncidentInput opens an incident or announces maintenance, with its
// first update.
type StatusIncidentInput struct {
	PageID        string
	Kind          string
	Title         string
	Impact        *string
	State         *string
	Body          string
	Components    []string
	ScheduledFrom *time.Time
	ScheduledTo   *time.Time
}

// The kinds of incident and the states each may be in.
var (
	incidentStates    = []string{"investigating", "identified", "monitoring", "resolved"}
	maintenanceStates = []string{"scheduled", "in_progress", "completed"}
	incidentImpacts   = []string{"none", "minor", "major", "critical"}
	slugPattern       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	domainPattern     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// statesOf lists the states an incident of kind may be in, the first its
// default, the last its end.
func statesOf(kind string) ([]string, error) {
	switch kind {
	case "incident":
		return incidentStates, nil
	case "maintenance":
		return maintenanceStates, nil
	}
	return nil, errs.E(errs.Invalid, "status incident: kind %q: want incident or maintenance", kind)
}

func parseStatusID(what, id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errs.E(errs.NotFound, "no %s with id %q", what, id)
	}
	return u, nil
}

// uniqueViolation reports whether err is a unique constraint violation.
func uniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

const pageColumns = `id, slug, title, description, domain, created_at`

func scanPage(r pgx.Row) (*StatusPage, error) {
	var p StatusPage
	var id uuid.UUID
	err := r.Scan(&id, &p.Slug, &p.Title, &p.Description, &p.Domain, &p.CreatedAt)
	p.ID = id.String()
	return &p, err
}

// StatusPages lists the site's status pages by slug.
func StatusPages(ctx context.Context, tx pgx.Tx) ([]*StatusPage, error) {
	rows, err := tx.Query(ctx, `SELECT `+pageColumns+` FROM status_pages ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("status pages: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*StatusPage, error) { return scanPage(r) })
	if err != nil {
		return nil, fmt.Errorf("status pages: %w", err)
	}
	return out, nil
}

// StatusPageByID reads one page; NotFound when the site has none by id.
func StatusPageByID(ctx context.Context, tx pgx.Tx, id string) (*StatusPage, error) {
	u, err := parseStatusID("status page", id)
	if err != nil {
		return nil, err
	}
	p, err := scanPage(tx.QueryRow(ctx, `SELECT `+pageColumns+` FROM status_pages WHERE id = $1`, u))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status page with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("status page %s: %w", id, err)
	}
	return p, nil
}

// StatusPageBySlug reads one page by its slug; NotFound when there is none.
func StatusPageBySlug(ctx context.Context, tx pgx.Tx, slug string) (*StatusPage, error) {
	p, err := scanPage(tx.QueryRow(ctx, `SELECT `+pageColumns+` FROM status_pages WHERE slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status page %q", slug)
	}
	if err != nil {
		return nil, fmt.Errorf("status page %q: %w", slug, err)
	}
	return p, nil
}

// StatusPageByDomain says which site and page slug a host name serves
// (across sites: the public handler asks before it knows the site). ok is
// false when no page claims the host.
func StatusPageByDomain(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, host string) (site uuid.UUID, slug string, ok bool, err error) {
	err = db.QueryRow(ctx, `SELECT site_id, slug FROM status_page_by_domain($1)`, strings.ToLower(host)).Scan(&site, &slug)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, "", false, nil
	}
	if err != nil {
		return uuid.Nil, "", false, fmt.Errorf("status page for host %q: %w", host, err)
	}
	return site, slug, true, nil
}

// validatePage checks a page's fields, naming the one that is wrong.
func validatePage(in *StatusPageInput) error {
	in.Slug = strings.TrimSpace(in.Slug)
	in.Title = strings.TrimSpace(in.Title)
	if !slugPattern.MatchString(in.Slug) {
		return errs.E(errs.Invalid, "status page slug %q: use lower-case letters, digits and dashes (at most 63, not starting or ending with a dash)", in.Slug)
	}
	if in.Title == "" {
		return errs.E(errs.Invalid, "status page %q: title is empty", in.Slug)
	}
	if in.Domain != nil {
		d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(*in.Domain)), ".")
		switch {
		case d == "":
			in.Domain = nil
		case !domainPattern.MatchString(d) || len(d) > 253:
			return errs.E(errs.Invalid, "status page %q: domain %q is not a host name (for example status.example.com, no scheme, port or path)", in.Slug, *in.Domain)
		default:
			in.Domain = &d
		}
	}
	return nil
}

// SaveStatusPage creates a page (in.ID nil) or changes one of the site's.
func SaveStatusPage(ctx context.Context, tx pgx.Tx, site uuid.UUID, in StatusPageInput) (*StatusPage, error) {
	if err := validatePage(&in); err != nil {
		return nil, err
	}
	desc := ""
	if in.Description != nil {
		desc = strings.TrimSpace(*in.Description)
	}
	var row pgx.Row
	if in.ID == nil || *in.ID == "" {
		row = tx.QueryRow(ctx, `INSERT INTO status_pages (id, site_id, slug, title, description, domain) VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING `+pageColumns, uuid.New(), site, in.Slug, in.Title, desc, in.Domain)
	} else {
		id, err := parseStatusID("status page", *in.ID)
		if err != nil {
			return nil, err
		}
		row = tx.QueryRow(ctx, `UPDATE status_pages SET slug = $2, title = $3, description = COALESCE($4, description), domain = $5
			WHERE id = $1 RETURNING `+pageColumns, id, in.Slug, in.Title, in.Description, in.Domain)
	}
	p, err := scanPage(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status page with id %q", *in.ID)
	}
	if c, ok := uniqueViolation(err); ok {
		if strings.Contains(c, "domain") {
			return nil, errs.E(errs.Conflict, "status page %q: domain %q already serves another status page", in.Slug, *in.Domain)
		}
		return nil, errs.E(errs.Conflict, "status page %q already exists", in.Slug)
	}
	if err != nil {
		return nil, fmt.Errorf("saving status page %q: %w", in.Slug, err)
	}
	return p, nil
}

// DeleteStatusPage deletes a page with its components and incidents.
func DeleteStatusPage(ctx context.Context, tx pgx.Tx, id string) error {
	u, err := parseStatusID("status page", id)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM status_pages WHERE id = $1`, u)
	if err != nil {
		return fmt.Errorf("deleting status page %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no status page with id %q", id)
	}
	return nil
}

const componentColumns = `id, page_id, name, description, position, check_id, group_name`

func scanComponent(r pgx.Row) (*StatusComponent, error) {
	var c StatusComponent
	var id, page uuid.UUID
	var check *uuid.UUID
	err := r.Scan(&id, &page, &c.Name, &c.Description, &c.Position, &check, &c.GroupName)
	c.ID, c.PageID = id.String(), page.String()
	if check != nil {
		s := check.String()
		c.CheckID = &s
	}
	return &c, err
}

// StatusComponents lists a page's components in position order.
func StatusComponents(ctx context.Context, tx pgx.Tx, pageID string) ([]*StatusComponent, error) {
	u, err := parseStatusID("status page", pageID)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+componentColumns+` FROM status_components WHERE page_id = $1 ORDER BY position, name`, u)
	if err != nil {
		return nil, fmt.Errorf("status components: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*StatusComponent, error) { return scanComponent(r) })
	if err != nil {
		return nil, fmt.Errorf("status components: %w", err)
	}
	return out, nil
}

// SaveStatusComponent creates a component (in.ID nil) or changes one. Its
// check or group must be the site's own.
func SaveStatusComponent(ctx context.Context, tx pgx.Tx, site uuid.UUID, in StatusComponentInput) (*StatusComponent, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return nil, errs.E(errs.Invalid, "status component: name is empty (it is what the public sees)")
	}
	if (in.CheckID == nil || *in.CheckID == "") == (in.GroupName == nil || *in.GroupName == "") {
		return nil, errs.E(errs.Invalid, "status component %q: give exactly one of checkId and groupName", in.Name)
	}
	page, err := StatusPageByID(ctx, tx, in.PageID)
	if err != nil {
		return nil, err
	}
	var check *uuid.UUID
	var group *string
	if in.CheckID != nil && *in.CheckID != "" {
		u, err := ParseID(*in.CheckID)
		if err != nil {
			return nil, err
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM checks WHERE id = $1)`, u).Scan(&ok); err != nil {
			return nil, fmt.Errorf("status component %q: %w", in.Name, err)
		}
		if !ok {
			return nil, errs.E(errs.NotFound, "status component %q: no check with id %q", in.Name, *in.CheckID)
		}
		check = &u
	} else {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM groups WHERE name = $1 OR id::text = $1`, *in.GroupName).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "status component %q: no group %q", in.Name, *in.GroupName)
		}
		if err != nil {
			return nil, fmt.Errorf("status component %q: %w", in.Name, err)
		}
		group = &name
	}
	desc := ""
	if in.Description != nil {
		desc = strings.TrimSpace(*in.Description)
	}
	var row pgx.Row
	if in.ID == nil || *in.ID == "" {
		pos := 0
		if in.Position != nil {
			pos = *in.Position
		} else if err := tx.QueryRow(ctx, `SELECT COALESCE(max(position) + 1, 0) FROM status_components WHERE page_id = $1`, page.ID).Scan(&pos); err != nil {
			return nil, fmt.Errorf("status component %q: %w", in.Name, err)
		}
		row = tx.QueryRow(ctx, `INSERT INTO status_components (id, site_id, page_id, name, description, position, check_id, group_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+componentColumns, uuid.New(), site, page.ID, in.Name, desc, pos, check, group)
	} else {
		id, err := parseStatusID("status component", *in.ID)
		if err != nil {
			return nil, err
		}
		row = tx.QueryRow(ctx, `UPDATE status_components SET name = $3, description = COALESCE($4, description), position = COALESCE($5, position),
			check_id = $6, group_name = $7 WHERE id = $1 AND page_id = $2 RETURNING `+componentColumns, id, page.ID, in.Name, in.Description, in.Position, check, group)
	}
	c, err := scanComponent(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status component with id %q on page %q", *in.ID, page.Slug)
	}
	if err != nil {
		return nil, fmt.Errorf("saving status component %q: %w", in.Name, err)
	}
	return c, nil
}

// DeleteStatusComponent removes a component from its page.
func DeleteStatusComponent(ctx context.Context, tx pgx.Tx, id string) error {
	u, err := parseStatusID("status component", id)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM status_components WHERE id = $1`, u)
	if err != nil {
		return fmt.Errorf("deleting status component %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no status component with id %q", id)
	}
	return nil
}

const incidentColumns = `id, page_id, kind, title, impact, state, components, scheduled_from, scheduled_to, created_at, resolved_at`

func scanIncident(r pgx.Row) (*StatusIncident, error) {
	var in StatusIncident
	var id, page uuid.UUID
	var comps []uuid.UUID
	err := r.Scan(&id, &page, &in.Kind, &in.Title, &in.Impact, &in.State, &comps, &in.ScheduledFrom, &in.ScheduledTo, &in.CreatedAt, &in.ResolvedAt)
	in.ID, in.PageID = id.String(), page.String()
	in.Components = []string{}
	for _, c := range comps {
		in.Components = append(in.Components, c.String())
	}
	return &in, err
}

// StatusIncidents lists a page's incidents and maintenance notices, newest
// first, at most limit, each with its updates. Resolved incidents older
// than since are left out (since zero: all).
func StatusIncidents(ctx context.Context, tx pgx.Tx, pageID string, since time.Time, limit int) ([]*StatusIncident, error) {
	u, err := parseStatusID("status page", pageID)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+incidentColumns+` FROM status_incidents
		WHERE page_id = $1 AND (resolved_at IS NULL OR resolved_at >= $2)
		ORDER BY COALESCE(scheduled_from, created_at) DESC, created_at DESC LIMIT $3`, u, since, limit)
	if err != nil {
		return nil, fmt.Errorf("status incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*StatusIncident, error) { return scanIncident(r) })
	if err != nil {
		return nil, fmt.Errorf("status incidents: %w", err)
	}
	return out, loadUpdates(ctx, tx, out)
}

// loadUpdates fills the incidents' updates, oldest first.
func loadUpdates(ctx context.Context, tx pgx.Tx, incidents []*StatusIncident) error {
	if len(incidents) == 0 {
		return nil
	}
	byID := map[string]*StatusIncident{}
	ids := make([]string, 0, len(incidents))
	for _, in := range incidents {
		in.Updates = []*StatusIncidentUpdate{}
		byID[in.ID] = in
		ids = append(ids, in.ID)
	}
	rows, err := tx.Query(ctx, `SELECT id, incident_id, state, body, author, at FROM status_incident_updates
		WHERE incident_id = ANY ($1::uuid[]) ORDER BY at, id`, ids)
	if err != nil {
		return fmt.Errorf("status incident updates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u StatusIncidentUpdate
		var id, inc uuid.UUID
		if err := rows.Scan(&id, &inc, &u.State, &u.Body, &u.Author, &u.At); err != nil {
			return fmt.Errorf("status incident updates: %w", err)
		}
		u.ID = id.String()
		if in := byID[inc.String()]; in != nil {
			in.Updates = append(in.Updates, &u)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("status incident updates: %w", err)
	}
	return nil
}

// StatusIncidentByID reads one incident with its updates.
func StatusIncidentByID(ctx context.Context, tx pgx.Tx, id string) (*StatusIncident, error) {
	u, err := parseStatusID("status incident", id)
	if err != nil {
		return nil, err
	}
	in, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM status_incidents WHERE id = $1`, u))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status incident with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("status incident %s: %w", id, err)
	}
	return in, loadUpdates(ctx, tx, []*StatusIncident{in})
}

// CreateStatusIncident opens an incident (or announces maintenance) on a
// page with its first update. Nothing is stored when any field is wrong.
func CreateStatusIncident(ctx context.Context, tx pgx.Tx, site uuid.UUID, in StatusIncidentInput, author string) (*StatusIncident, error) {
	in.Title, in.Body = strings.TrimSpace(in.Title), strings.TrimSpace(in.Body)
	states, err := statesOf(in.Kind)
	if err != nil {
		return nil, err
	}
	if in.Title == "" {
		return nil, errs.E(errs.Invalid, "status %s: title is empty", in.Kind)
	}
	if in.Body == "" {
		return nil, errs.E(errs.Invalid, "status %s %q: the first update's body is empty", in.Kind, in.Title)
	}
	state := states[0]
	if in.State != nil && *in.State != "" {
		state = *in.State
	}
	if !slices.Contains(states, state) {
		return nil, errs.E(errs.Invalid, "status %s %q: state %q: want one of %s", in.Kind, in.Title, state, strings.Join(states, ", "))
	}
	impact := "minor"
	if in.Kind == "maintenance" {
		impact = "none"
	}
	if in.Impact != nil && *in.Impact != "" {
		impact = *in.Impact
	}
	if !slices.Contains(incidentImpacts, impact) {
		return nil, errs.E(errs.Invalid, "status %s %q: impact %q: want one of %s", in.Kind, in.Title, impact, strings.Join(incidentImpacts, ", "))
	}
	if in.Kind == "maintenance" && (in.ScheduledFrom == nil || in.ScheduledTo == nil) {
		return nil, errs.E(errs.Invalid, "status maintenance %q: scheduledFrom and scheduledTo are required", in.Title)
	}
	if in.ScheduledFrom != nil && in.ScheduledTo != nil && !in.ScheduledTo.After(*in.ScheduledFrom) {
		return nil, errs.E(errs.Invalid, "status %s %q: scheduledTo (%s) must be after scheduledFrom (%s)", in.Kind, in.Title,
			in.ScheduledTo.Format(time.RFC3339), in.ScheduledFrom.Format(time.RFC3339))
	}
	page, err := StatusPageByID(ctx, tx, in.PageID)
	if err != nil {
		return nil, err
	}
	comps, err := pageComponents(ctx, tx, page, in.Components)
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	if _, err := tx.Exec(ctx, `INSERT INTO status_incidents (id, site_id, page_id, kind, title, impact, state, components, scheduled_from, scheduled_to, resolved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $7 IN ('resolved', 'completed') THEN now() END)`,
		id, site, page.ID, in.Kind, in.Title, impact, state, comps, in.ScheduledFrom, in.ScheduledTo); err != nil {
		return nil, fmt.Errorf("opening status %s %q: %w", in.Kind, in.Title, err)
	}
	if err := insertUpdate(ctx, tx, site, id, state, in.Body, author); err != nil {
		return nil, err
	}
	return StatusIncidentByID(ctx, tx, id.String())
}

// pageComponents checks that every id names a component of page.
func pageComponents(ctx context.Context, tx pgx.Tx, page *StatusPage, ids []string) ([]uuid.UUID, error) {
	out := make([]uuid.UUID, 0, len(ids))
	for _, s := range ids {
		u, err := parseStatusID("status component", s)
		if err != nil {
			return nil, err
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM status_components WHERE id = $1 AND page_id = $2)`, u, page.ID).Scan(&ok); err != nil {
			return nil, fmt.Errorf("status components: %w", err)
		}
		if !ok {
			return nil, errs.E(errs.NotFound, "status page %q has no component with id %q", page.Slug, s)
		}
		out = append(out, u)
	}
	return out, nil
}

func insertUpdate(ctx context.Context, tx pgx.Tx, site, incident uuid.UUID, state, body, author string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO status_incident_updates (id, site_id, incident_id, state, body, author) VALUES ($1, $2, $3, $4, $5, $6)`,
		uuid.New(), site, incident, state, body, author); err != nil {
		return fmt.Errorf("adding status incident update: %w", err)
	}
	return nil
}

// UpdateStatusIncident adds an update to an incident and moves it to
// state; resolved (completed for maintenance) ends it.
func UpdateStatusIncident(ctx context.Context, tx pgx.Tx, site uuid.UUID, id, state, body, author string) (*StatusIncident, error) {
	cur, err := StatusIncidentByID(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, errs.E(errs.Invalid, "status %s %q: the update's body is empty", cur.Kind, cur.Title)
	}
	states, err := statesOf(cur.Kind)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(states, state) {
		return nil, errs.E(errs.Invalid, "status %s %q: state %q: want one of %s", cur.Kind, cur.Title, state, strings.Join(states, ", "))
	}
	u, _ := uuid.Parse(cur.ID)
	if _, err := tx.Exec(ctx, `UPDATE status_incidents SET state = $2,
		resolved_at = CASE WHEN $2 IN ('resolved', 'completed') THEN COALESCE(resolved_at, now()) END WHERE id = $1`, u, state); err != nil {
		return nil, fmt.Errorf("updating status %s %q: %w", cur.Kind, cur.Title, err)
	}
	if err := insertUpdate(ctx, tx, site, u, state, body, author); err != nil {
		return nil, err
	}
	return StatusIncidentByID(ctx, tx, id)
}

// DeleteStatusIncident deletes an incident with its updates.
func DeleteStatusIncident(ctx context.Context, tx pgx.Tx, id string) error {
	u, err := parseStatusID("status incident", id)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM status_incidents WHERE id = $1`, u)
	if err != nil {
		return fmt.Errorf("deleting status incident %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no status incident with id %q", id)
	}
	return nil
}

// ComponentMember is the current state of one check behind a component: only
// its status and whether it is in downtime (never its name or output).
type ComponentMember struct {
	Status     string
	InDowntime bool
}

// ComponentMembers reads the current state of the checks behind each of
// the components: by component id.
func ComponentMembers(ctx context.Context, tx pgx.Tx, comps []*StatusComponent) (map[string][]ComponentMember, error) {
	out := map[string][]ComponentMember{}
	for _, c := range comps {
		var rows pgx.Rows
		var err error
		if c.CheckID != nil {
			rows, err = tx.Query(ctx, `SELECT status, in_downtime FROM check_state WHERE check_id = $1`, *c.CheckID)
		} else {
			rows, err = tx.Query(ctx, `SELECT s.status, s.in_downtime FROM checks ch JOIN check_state s ON s.check_id = ch.id
				WHERE $1 = ANY (ch.groups)`, *c.GroupName)
		}
		if err != nil {
			return nil, fmt.Errorf("status component %q: %w", c.Name, err)
		}
		ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ComponentMember, error) {
			var m ComponentMember
			err := r.Scan(&m.Status, &m.InDowntime)
			return m, err
		})
		if err != nil {
			return nil, fmt.Errorf("status component %q: %w", c.Name, err)
		}
		out[c.ID] = ms
	}
	return out, nil
}

// DailyAvailability is the availability of a component's check or group
// for each whole UTC day from (a midnight) for days days, oldest first:
// reporting.check_availability (or group_availability) per day.
func DailyAvailability(ctx context.Context, tx pgx.Tx, c *StatusComponent, from time.Time, days int) ([]*Availability, error) {
	out := make([]*Availability, days)
	for i := range out {
		d := from.AddDate(0, 0, i)
		out[i] = &Availability{From: d, To: d.AddDate(0, 0, 1), Seconds: map[string]float64{}}
	}
	var fn string
	var subject any
	if c.CheckID != nil {
		fn, subject = `reporting.check_availability($1::uuid`, *c.CheckID
	} else {
		fn, subject = `reporting.group_availability($1::text`, *c.GroupName
	}
	rows, err := tx.Query(ctx, `SELECT i, a.category, a.seconds
		FROM generate_series(0, $3::int - 1) i CROSS JOIN LATERAL `+fn+`, $2::timestamptz + make_interval(hours => 24 * i), $2::timestamptz + make_interval(hours => 24 * (i + 1))) a`,
		subject, from, days)
	if err != nil {
		return nil, fmt.Errorf("daily availability of %q: %w", c.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var cat string
		var s float64
		if err := rows.Scan(&i, &cat, &s); err != nil {
			return nil, fmt.Errorf("daily availability of %q: %w", c.Name, err)
		}
		if i >= 0 && i < days {
			out[i].Seconds[cat] += s
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily availability of %q: %w", c.Name, err)
	}
	return out, nil
}
