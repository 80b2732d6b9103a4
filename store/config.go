package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// countApply records an apply in bergamot_config_applies_total: applied,
// invalid (refused with errors) or dry_run. A failure that is not the
// configuration's (the database) is not counted.
func countApply(res *ApplyResult, err error, dryRun bool) {
	switch {
	case err != nil || res == nil:
	case !res.OK:
		metrics.ConfigApplied("invalid")
	case dryRun:
		metrics.ConfigApplied("dry_run")
	default:
		metrics.ConfigApplied("applied")
	}
}

// ApplyResult is the outcome of validating or applying configuration.
type ApplyResult struct {
	OK       bool
	Errors   config.ErrorList
	Warnings config.ErrorList
	Added    int
	Changed  int
	Removed  int
	Diff     string
	Revision int64
}

// Validator checks a resolved model beyond what package config knows (for
// example virtual check conditions). It returns every problem found.
type Validator func(m *config.Model) config.ErrorList

// Configs applies configuration to sites.
type Configs struct {
	Sealer     *Sealer
	Validators []Validator
}

// CredentialPlaceholder marks a credential value in stored check parameters;
// the worker substitutes the decrypted secret just before execution, so
// secrets are never stored in clear.
const CredentialPlaceholder = "\x1bcred:"

type placeholderCreds struct{ doc *config.Document }

func (p placeholderCreds) ResolveCredential(name string) (*config.Credential, error) {
	for _, n := range []string{name, "default_" + name} {
		if p.doc.Object("credential", n) != nil {
			return &config.Credential{Name: n,
				Username:  CredentialPlaceholder + n + ":username\x1b",
				Password:  CredentialPlaceholder + n + ":password\x1b",
				KeyID:     CredentialPlaceholder + n + ":key-id\x1b",
				KeySecret: CredentialPlaceholder + n + ":key-secret\x1b"}, nil
		}
	}
	return nil, fmt.Errorf("no credential named %q", name)
}

// LoadDocument rebuilds the site's stored configuration as a document.
func (c *Configs) LoadDocument(ctx context.Context, tx pgx.Tx) (*config.Document, error) {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT o.kind, o.name, o.source, c.sealed FROM config_objects o
		LEFT JOIN credentials c ON o.kind = 'credential' AND c.name = o.name ORDER BY o.kind, o.name`)
	if err != nil {
		return nil, fmt.Errorf("loading configuration: %w", err)
	}
	defer rows.Close()
	var header string
	var body strings.Builder
	for rows.Next() {
		var kind, name, src string
		var sealed []byte
		if err := rows.Scan(&kind, &name, &src, &sealed); err != nil {
			return nil, fmt.Errorf("loading configuration: %w", err)
		}
		switch {
		case kind == "_site":
			header = src
		case kind == "credential" && sealed != nil && c.Sealer != nil:
			plain, err := c.Sealer.openSealed(site, name, sealed)
			if err != nil {
				return nil, err
			}
			body.Write(plain)
			body.WriteByte('\n')
		default:
			body.WriteString(src)
			body.WriteByte('\n')
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading configuration: %w", err)
	}
	doc := config.NewDocument()
	if header != "" {
		if doc, err = config.Parse("stored site header", strings.NewReader(header)); err != nil {
			return nil, fmt.Errorf("stored configuration is unreadable: %w", err)
		}
	}
	if body.Len() > 0 {
		objs, err := config.Parse("stored configuration", strings.NewReader(`<bergamot site="`+xmlEscape(doc.Site)+`">`+body.String()+`</bergamot>`))
		if err != nil {
			return nil, fmt.Errorf("stored configuration is unreadable: %w", err)
		}
		doc = doc.Merge(objs)
	}
	return doc, nil
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

// LockSiteConfig serialises configuration changes of one site until tx
// ends (re-entrant within tx). Apply takes it; callers that read the stored
// configuration before applying take it first.
func LockSiteConfig(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, site.String()); err != nil {
		return fmt.Errorf("locking site configuration: %w", err)
	}
	return nil
}

// Apply validates overlay merged onto the site's stored configuration and,
// unless dryRun, applies it in tx: config objects, the resolved model, check
// state and schedule, and a revision. On validation errors nothing is
// written and the result lists every error. The caller commits tx.
func (c *Configs) Apply(ctx context.Context, tx pgx.Tx, overlay *config.Document, author, source string, dryRun bool) (res *ApplyResult, err error) {
	defer func() { countApply(res, err, dryRun) }()
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := LockSiteConfig(ctx, tx, site); err != nil {
		return nil, err
	}
	current, err := c.LoadDocument(ctx, tx)
	if err != nil {
		return nil, err
	}
	merged := current.Merge(overlay)
	if current.Site != "" {
		merged.Site = current.Site
	}
	res = &ApplyResult{}
	model, err := config.Resolve(merged, config.WithCredentialResolver(placeholderCreds{merged}))
	var list config.ErrorList
	if errors.As(err, &list) {
		res.Errors = list
		return res, nil
	} else if err != nil {
		return nil, err
	}
	if err := warnEnginesLive(ctx, tx, model); err != nil {
		return nil, err
	}
	res.Warnings = model.Warnings
	for _, v := range c.Validators {
		res.Errors = append(res.Errors, v(model)...)
	}
	if len(res.Errors) > 0 {
		return res, nil
	}
	changes := config.Diff(current, merged)
	for _, ch := range changes {
		switch ch.Op {
		case "added":
			res.Added++
		case "changed":
			res.Changed++
		case "removed":
			res.Removed++
		}
	}
	res.Diff = renderDiff(changes)
	res.OK = true
	if dryRun || len(changes) == 0 && headerOf(current) == headerOf(merged) {
		return res, nil
	}
	if err := c.writeObjects(ctx, tx, site, merged, changes); err != nil {
		return nil, err
	}
	if err := writeModel(ctx, tx, site, model, c.Sealer, merged); err != nil {
		return nil, err
	}
	summary := fmt.Sprintf("%d added, %d changed, %d removed", res.Added, res.Changed, res.Removed)
	if err := tx.QueryRow(ctx, `INSERT INTO config_revisions (site_id, author, source, summary, added, changed, removed, diff)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, site, author, source, summary, res.Added, res.Changed, res.Removed, res.Diff).Scan(&res.Revision); err != nil {
		return nil, fmt.Errorf("recording revision: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), $2)`, ConfigChannel, site.String()); err != nil {
		return nil, fmt.Errorf("announcing configuration: %w", err)
	}
	return res, nil
}

func headerOf(d *config.Document) string {
	h := config.NewDocument()
	h.Site, h.Summary, h.Description, h.Parameters = d.Site, d.Summary, d.Description, d.Parameters
	b, _ := config.Export(h, config.WithSecrets())
	return string(b)
}

func (c *Configs) writeObjects(ctx context.Context, tx pgx.Tx, site uuid.UUID, merged *config.Document, changes []config.Change) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO config_objects (site_id, kind, name, source) VALUES ($1, '_site', '', $2)
		ON CONFLICT (site_id, kind, name) DO UPDATE SET source = EXCLUDED.source, updated_at = now()`, site, headerOf(merged))
	for _, ch := range changes {
		if ch.Op == "removed" {
			b.Queue(`DELETE FROM config_objects WHERE kind = $1 AND name = $2`, ch.Kind, ch.Name)
			continue
		}
		o := merged.Object(ch.Kind, ch.Name)
		src := o.SourceXML()
		if ch.Kind == "credential" {
			src = o.Canonical() // secrets redacted; the sealed copy lives in credentials
		}
		b.Queue(`INSERT INTO config_objects (site_id, kind, name, template, source, file, line) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (site_id, kind, name) DO UPDATE SET template = EXCLUDED.template, source = EXCLUDED.source,
			file = EXCLUDED.file, line = EXCLUDED.line, updated_at = now()`,
			site, ch.Kind, ch.Name, o.Template(), src, o.File(), o.Line())
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("storing configuration objects: %w", err)
	}
	return nil
}

// checkRow is one row of the checks table as the configuration wants it.
type checkRow struct {
	ID         uuid.UUID
	Kind       string
	Name       string
	ParentKey  string
	ParentID   *uuid.UUID
	Check      *config.Check
	Zone       string
	Active     bool
	Every      time.Duration
	TimePeriod string
	Hash       string
}

func (r *checkRow) key() string { return r.Kind + "\x00" + r.ParentKey + "\x00" + r.Name }

// CheckSettings is what the checks.settings column holds.
type CheckSettings struct {
	State           config.StateSettings
	Schedule        config.Schedule
	Notifications   config.Notifications
	Initially       config.Initially
	SecurityDomains []string `json:",omitempty"`
	Note            string   `json:",omitempty"`
	Category        string   `json:",omitempty"`
	Application     string   `json:",omitempty"`
	Timeout         time.Duration
}

func flatten(m *config.Model) []*checkRow {
	var out []*checkRow
	add := func(c *config.Check, parentKey, zone string) *checkRow {
		r := &checkRow{Kind: c.Kind, Name: c.Name, ParentKey: parentKey, Check: c, Zone: zone,
			Every: c.Schedule.Every, TimePeriod: c.Schedule.TimePeriod}
		if c.WorkerPool != "" {
			r.Zone = c.WorkerPool
		}
		r.Active = c.Enabled && c.Command != nil && c.Kind != "trap" && c.Kind != "cluster" && c.Kind != "resource" &&
			c.Command.Engine != "" && c.Command.Engine != "passive"
		out = append(out, r)
		return r
	}
	for _, h := range m.Hosts {
		zone := "default"
		if loc, ok := m.Locations[h.Location]; ok && loc.WorkerPool != "" {
			zone = loc.WorkerPool
		}
		hr := add(h, "", zone)
		for _, s := range h.Services {
			add(s, "host/"+h.Name, hr.Zone)
		}
		for _, t := range h.Traps {
			add(t, "host/"+h.Name, hr.Zone)
		}
	}
	for _, c := range m.Clusters {
		add(c, "", "default")
		for _, r := range c.Resources {
			add(r, "cluster/"+c.Name, "default")
		}
	}
	return out
}

// checkParams are the parameters stored for c (and given to its engine):
// its own, overlaid with its command's.
func checkParams(c *config.Check) map[string]string {
	params := map[string]string{}
	for k, v := range c.Parameters {
		params[k] = v
	}
	if c.Command != nil {
		for k, v := range c.Command.Parameters {
			params[k] = v
		}
	}
	return params
}

// ActiveCheck is one check of a model that workers will run, as Apply
// stores it: the zone it is queued in and the parameters its engine gets.
type ActiveCheck struct {
	Check *config.Check
	// Host is the check's host (the check itself for a host; nil for
	// checks outside hosts).
	Host   *config.Check
	Zone   string
	Params map[string]string
}

// ActiveChecks lists the checks of m that workers will run (engine set,
// enabled, not passive), in model order. Configuration validation uses it
// to judge what will run where.
func ActiveChecks(m *config.Model) []ActiveCheck {
	var out []ActiveCheck
	hosts := map[*config.Check]*config.Check{}
	for _, h := range m.Hosts {
		hosts[h] = h
		for _, s := range h.Services {
			hosts[s] = h
		}
		for _, t := range h.Traps {
			hosts[t] = h
		}
	}
	for _, r := range flatten(m) {
		if r.Active {
			out = append(out, ActiveCheck{Check: r.Check, Host: hosts[r.Check], Zone: r.Zone, Params: checkParams(r.Check)})
		}
	}
	return out
}

func rowSettings(c *config.Check) CheckSettings {
	return CheckSettings{State: c.State, Schedule: c.Schedule, Notifications: c.Notifications, Initially: c.Initially,
		SecurityDomains: c.SecurityDomains, Note: c.Note, Category: c.Category, Application: c.Application}
}

func hashRow(r *checkRow) string {
	c := r.Check
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{r.Kind, r.Name, r.ParentKey, r.Zone, c.Summary, c.Description, c.Enabled, c.Suppressed, c.Address,
		c.Groups, c.Location, c.ResourcePool, c.AgentID, c.ExternalRef, c.Command, c.Parameters, c.Condition, c.Depends, rowSettings(c)})
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// stableOffset spreads checks over their interval: the same check always
// runs at the same phase, and many checks spread evenly.
func stableOffset(id uuid.UUID, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write(id[:])
	return time.Duration(h.Sum64() % uint64(interval))
}

// NextSlot returns the next run time after now for a check with interval,
// aligned to the check's stable offset.
func NextSlot(id uuid.UUID, interval time.Duration, now time.Time) time.Time {
	if interval <= 0 {
		interval = time.Minute
	}
	off := stableOffset(id, interval)
	base := now.Truncate(interval).Add(off)
	for !base.After(now) {
		base = base.Add(interval)
	}
	return base
}

func writeModel(ctx context.Context, tx pgx.Tx, site uuid.UUID, m *config.Model, sealer *Sealer, doc *config.Document) error {
	rows := flatten(m)
	existing := map[string]struct {
		id   uuid.UUID
		hash string
	}{}
	oldDeps := map[uuid.UUID][]uuid.UUID{}
	q, err := tx.Query(ctx, `SELECT c.id, c.kind, c.name, COALESCE(p.kind || '/' || p.name, ''), c.spec_hash, c.depends_on
		FROM checks c LEFT JOIN checks p ON p.id = c.parent_id`)
	if err != nil {
		return fmt.Errorf("reading checks: %w", err)
	}
	for q.Next() {
		var id uuid.UUID
		var kind, name, parent, hash string
		var deps []uuid.UUID
		if err := q.Scan(&id, &kind, &name, &parent, &hash, &deps); err != nil {
			q.Close()
			return fmt.Errorf("reading checks: %w", err)
		}
		if len(deps) > 0 {
			oldDeps[id] = deps
		}
		existing[kind+"\x00"+parent+"\x00"+name] = struct {
			id   uuid.UUID
			hash string
		}{id, hash}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("reading checks: %w", err)
	}

	ids := map[string]uuid.UUID{}
	keep := map[uuid.UUID]bool{}
	for _, r := range rows {
		if e, ok := existing[r.key()]; ok {
			r.ID = e.id
		} else {
			r.ID = uuid.New()
		}
		keep[r.ID] = true
		ids[r.Kind+"/"+r.Name] = r.ID
		r.Hash = hashRow(r)
	}
	for _, r := range rows {
		if r.ParentKey != "" {
			pid := ids[r.ParentKey]
			r.ParentID = &pid
		}
	}
	var removed []uuid.UUID
	for _, e := range existing {
		if !keep[e.id] {
			removed = append(removed, e.id)
		}
	}
	if len(removed) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM check_schedule WHERE check_id = ANY ($1)`, removed); err != nil {
			return fmt.Errorf("removing schedules: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM checks WHERE id = ANY ($1)`, removed); err != nil {
			return fmt.Errorf("removing checks: %w", err)
		}
	}
	// Parents first so foreign keys hold.
	sort.SliceStable(rows, func(i, j int) bool { return (rows[i].ParentKey == "") && (rows[j].ParentKey != "") })
	now := time.Now()
	added, changed := newCheckWriter(site, now, true), newCheckWriter(site, now, false)
	fresh := 0
	for _, r := range rows {
		if _, ok := existing[r.key()]; !ok && r.Active {
			fresh++
		}
	}
	added.firstWindow = FirstRunWindow(fresh)
	for _, r := range rows {
		w := added
		if e, ok := existing[r.key()]; ok {
			if e.hash == r.Hash {
				continue
			}
			w = changed
		}
		w.add(r)
		if w.len() >= writeChunk {
			if err := w.flush(ctx, tx); err != nil {
				return err
			}
		}
	}
	// New parents are flushed before changed children that may move to them.
	if err := added.flush(ctx, tx); err != nil {
		return err
	}
	if err := changed.flush(ctx, tx); err != nil {
		return err
	}
	if err := writeDependsOn(ctx, tx, rows, oldDeps); err != nil {
		return err
	}
	return writeSupport(ctx, tx, site, m, sealer, doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// queueSLAs queues the model's <sla> agreements (checks are written by
// then: a check's agreement finds it by kind, name and parent name).
func queueSLAs(b *pgx.Batch, site uuid.UUID, m *config.Model) {
	var walk func(c *config.Check, parent string)
	walk = func(c *config.Check, parent string) {
		for _, s := range c.SLAs {
			b.Queue(`INSERT INTO slas (id, site_id, name, check_id, target, period, downtime, blind, time_zone)
				SELECT $1, $2, $3, c.id, $4, $5, $6, $7, $8 FROM checks c LEFT JOIN checks p ON p.id = c.parent_id
				WHERE c.kind = $9 AND c.name = $10 AND COALESCE(p.name, '') = $11`,
				uuid.New(), site, s.Name, s.Target, s.Period, s.Downtime, s.Blind, s.TimeZone, c.Kind, c.Name, parent)
		}
		for _, kids := range [][]*config.Check{c.Services, c.Traps, c.Resources} {
			for _, k := range kids {
				walk(k, c.Name)
			}
		}
	}
	for _, h := range append(slices.Clone(m.Hosts), m.Clusters...) {
		walk(h, "")
	}
	for _, g := range m.Groups {
		for _, s := range g.SLAs {
			b.Queue(`INSERT INTO slas (id, site_id, name, group_name, target, period, downtime, blind, time_zone) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
				uuid.New(), site, s.Name, g.Name, s.Target, s.Period, s.Downtime, s.Blind, s.TimeZone)
		}
	}
}

// writeSupport replaces the site's commands, time periods, teams, contacts,
// groups, locations and credentials with the model's.
func writeSupport(ctx context.Context, tx pgx.Tx, site uuid.UUID, m *config.Model, sealer *Sealer, doc *config.Document) error {
	b := &pgx.Batch{}
	for _, t := range []string{"commands", "time_periods", "teams", "contacts", "groups", "locations", "credentials", "slas"} {
		b.Queue(`DELETE FROM ` + t)
	}
	queueSLAs(b, site, m)
	queueExports(b, site, m)
	for _, c := range m.Commands {
		params := map[string]string{}
		for _, p := range c.Parameters {
			params[p.Name] = p.Value
		}
		pj, _ := json.Marshal(params)
		b.Queue(`INSERT INTO commands (id, site_id, name, summary, engine, executor, parameters, script) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			uuid.New(), site, c.Name, c.Summary, c.Engine, c.Executor, pj, c.Script)
	}
	for _, tp := range m.TimePeriods {
		ranges := make([]string, len(tp.Ranges))
		for i, r := range tp.Ranges {
			ranges[i] = r.Text
		}
		tz := tp.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		b.Queue(`INSERT INTO time_periods (id, site_id, name, summary, ranges, excludes, time_zone) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			uuid.New(), site, tp.Name, tp.Summary, ranges, nonNil(tp.Excludes), tz)
	}
	for _, t := range m.Teams {
		spec, _ := json.Marshal(t)
		b.Queue(`INSERT INTO teams (id, site_id, name, summary, parents, spec) VALUES ($1,$2,$3,$4,$5,$6)`,
			uuid.New(), site, t.Name, t.Summary, nonNil(t.Teams), spec)
	}
	for _, c := range m.Contacts {
		spec, _ := json.Marshal(c)
		phone := c.Mobile
		if phone == "" {
			phone = c.Phone
		}
		b.Queue(`INSERT INTO contacts (id, site_id, name, summary, email, phone, teams, spec) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
			uuid.New(), site, c.Name, c.Summary, c.Email, phone, nonNil(c.Teams), spec)
	}
	for _, g := range m.Groups {
		b.Queue(`INSERT INTO groups (id, site_id, name, summary, parents) VALUES ($1,$2,$3,$4,$5)`,
			uuid.New(), site, g.Name, g.Summary, nonNil(g.Parents))
	}
	for _, l := range m.Locations {
		spec, _ := json.Marshal(map[string]any{"workerPool": l.WorkerPool, "parameters": l.Parameters})
		b.Queue(`INSERT INTO locations (id, site_id, name, summary, parent, spec) VALUES ($1,$2,$3,$4,$5,$6)`,
			uuid.New(), site, l.Name, l.Summary, nullIfEmpty(l.Parent), spec)
	}
	for _, o := range doc.Objects() {
		if o.Kind() != "credential" {
			continue
		}
		summary := ""
		if c, ok := m.Credentials[o.Name()]; ok {
			summary = c.Summary
		}
		b.Queue(`INSERT INTO credentials (id, site_id, name, summary, sealed) VALUES ($1,$2,$3,$4,$5)`,
			uuid.New(), site, o.Name(), summary, sealer.Seal([]byte(o.SourceXML()), site[:]))
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("writing configuration model: %w", err)
	}
	return nil
}
