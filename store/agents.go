package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// The agent tables: agent_connections (which node holds which host's
// agent), agent_enrolments (one-time tokens exchanged for a certificate)
// and agent_certificates (what was issued through Bergamot). Every function
// runs under the site's row-level security.

// AgentConnection is one connection of a host agent to a hub.
type AgentConnection struct {
	ID          uuid.UUID
	AgentID     string
	HostName    string
	Version     string
	Node        string
	Serial      string
	CertExpires *time.Time
	Remote      string
	ConnectedAt time.Time
	LastSeen    time.Time
	ClosedAt    *time.Time
}

// Connected reports whether the connection is open and was seen within liveFor.
func (c *AgentConnection) Connected(liveFor time.Duration) bool {
	return c.ClosedAt == nil && time.Since(c.LastSeen) < liveFor
}

// RecordAgentConnect records a new connection of site's agent.
func RecordAgentConnect(ctx context.Context, db tenants.Beginner, site uuid.UUID, c *AgentConnection) error {
	return tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO agent_connections (id, site_id, agent_id, host_name, version, node, serial, cert_expires, remote)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, site, c.AgentID, c.HostName, c.Version, c.Node, c.Serial, c.CertExpires, c.Remote)
		if err != nil {
			return fmt.Errorf("recording agent connection: %w", err)
		}
		return nil
	})
}

// RecordAgentDisconnect closes a connection's row.
func RecordAgentDisconnect(ctx context.Context, db tenants.Beginner, site, id uuid.UUID) error {
	return tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE agent_connections SET closed_at = now(), last_seen = now() WHERE id = $1`, id)
		return err
	})
}

// TouchAgentConnections marks connections seen.
func TouchAgentConnections(ctx context.Context, db tenants.Beginner, site uuid.UUID, ids []uuid.UUID) error {
	return tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE agent_connections SET last_seen = now() WHERE id = ANY($1)`, ids)
		return err
	})
}

const agentColumns = `id, agent_id, host_name, version, node, serial, cert_expires, remote, connected_at, last_seen, closed_at`

func scanAgent(row pgx.Row) (*AgentConnection, error) {
	var c AgentConnection
	err := row.Scan(&c.ID, &c.AgentID, &c.HostName, &c.Version, &c.Node, &c.Serial, &c.CertExpires, &c.Remote, &c.ConnectedAt, &c.LastSeen, &c.ClosedAt)
	return &c, err
}

// LatestAgentConnection is the most recent connection of site's agent
// agentID, or nil when it never connected.
func LatestAgentConnection(ctx context.Context, db tenants.Beginner, site uuid.UUID, agentID string) (*AgentConnection, error) {
	var out *AgentConnection
	err := tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		c, err := scanAgent(tx.QueryRow(ctx, `SELECT `+agentColumns+` FROM agent_connections WHERE agent_id = $1
			ORDER BY (closed_at IS NULL) DESC, last_seen DESC LIMIT 1`, agentID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		out = c
		return err
	})
	return out, err
}

// AgentConnections lists, for the site in ctx, each agent's latest
// connection (one row per agent id), newest first.
func AgentConnections(ctx context.Context, tx pgx.Tx) ([]*AgentConnection, error) {
	rows, err := tx.Query(ctx, `SELECT `+agentColumns+` FROM (
			SELECT DISTINCT ON (agent_id) * FROM agent_connections ORDER BY agent_id, (closed_at IS NULL) DESC, last_seen DESC) a
		ORDER BY connected_at DESC LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	defer rows.Close()
	var out []*AgentConnection
	for rows.Next() {
		c, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// enrolmentPrefix starts an enrolment token; the site id follows, so the
// token is found under that site's row-level security.
const enrolmentPrefix = "bga_"

// AgentEnrolment is a one-time token for one host's certificate.
type AgentEnrolment struct {
	ID        uuid.UUID
	Site      uuid.UUID
	Host      string
	Template  bool
	Token     string // set only in the answer that creates it
	ExpiresAt time.Time
}

// CreateAgentEnrolment makes a one-time enrolment token for host (a host
// id, or a template name when template) in the site of ctx, valid for ttl.
func CreateAgentEnrolment(ctx context.Context, tx pgx.Tx, host string, template bool, createdBy *uuid.UUID, ttl time.Duration) (*AgentEnrolment, error) {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return nil, err
	}
	host = strings.TrimSpace(host)
	if host == "" || len(host) > 200 || strings.ContainsAny(host, "/\x00\n\r") {
		return nil, errs.E(errs.Invalid, "host must be 1 to 200 characters without '/' or line breaks")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	e := &AgentEnrolment{ID: uuid.New(), Site: site, Host: host, Template: template, ExpiresAt: time.Now().Add(ttl).UTC()}
	tok := enrolmentPrefix + strings.ReplaceAll(site.String(), "-", "") + "_" + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(tok))
	if _, err := tx.Exec(ctx, `INSERT INTO agent_enrolments (id, site_id, host, template, token_hash, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, site, host, template, h[:], createdBy, e.ExpiresAt); err != nil {
		return nil, fmt.Errorf("creating enrolment: %w", err)
	}
	e.Token = tok
	return e, nil
}

// ErrBadEnrolment is returned for a token that is malformed, unknown,
// expired or already used.
var ErrBadEnrolment = errs.E(errs.Unauthenticated, "enrolment token unknown, expired or already used")

// UseAgentEnrolment consumes a token once and returns what it enrols.
func UseAgentEnrolment(ctx context.Context, db tenants.Beginner, token string) (*AgentEnrolment, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), enrolmentPrefix)
	sitePart, _, ok2 := strings.Cut(rest, "_")
	site, err := uuid.Parse(sitePart)
	if !ok || !ok2 || err != nil {
		return nil, ErrBadEnrolment
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	e := &AgentEnrolment{Site: site}
	err = tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE agent_enrolments SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING id, host, template, expires_at`, h[:]).
			Scan(&e.ID, &e.Host, &e.Template, &e.ExpiresAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrBadEnrolment
	}
	if err != nil {
		return nil, fmt.Errorf("using enrolment token: %w", err)
	}
	return e, nil
}

// AgentCertificate is a certificate issued through Bergamot.
type AgentCertificate struct {
	Serial    string
	AgentID   string
	Template  bool
	NotAfter  time.Time
	IssuedAt  time.Time
	RevokedAt *time.Time
}

// RecordAgentCertificate records an issued certificate.
func RecordAgentCertificate(ctx context.Context, db tenants.Beginner, site uuid.UUID, c *AgentCertificate) error {
	return tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO agent_certificates (serial, site_id, agent_id, template, not_after)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, c.Serial, site, c.AgentID, c.Template, c.NotAfter)
		return err
	})
}

// Agent certificate statuses (AgentCertificate.Status).
const (
	CertValid    = "VALID"
	CertExpiring = "EXPIRING"
	CertExpired  = "EXPIRED"
	CertRevoked  = "REVOKED"
)

// Status is where the certificate stands now: REVOKED, EXPIRED, EXPIRING
// (less than a third of its lifetime left, when its agent should have
// renewed it) or VALID.
func (c *AgentCertificate) Status() string {
	now := time.Now()
	switch {
	case c.RevokedAt != nil:
		return CertRevoked
	case !now.Before(c.NotAfter):
		return CertExpired
	case c.NotAfter.Sub(now) < c.NotAfter.Sub(c.IssuedAt)/3:
		return CertExpiring
	}
	return CertValid
}

// AgentCertificates lists the site's certificates (in ctx's transaction),
// newest first; agentID, when set, keeps one host's.
func AgentCertificates(ctx context.Context, tx pgx.Tx, agentID string) ([]*AgentCertificate, error) {
	rows, err := tx.Query(ctx, `SELECT serial, agent_id, template, not_after, issued_at, revoked_at FROM agent_certificates
		WHERE $1 = '' OR agent_id = $1 ORDER BY issued_at DESC LIMIT 10000`, agentID)
	if err != nil {
		return nil, fmt.Errorf("listing agent certificates: %w", err)
	}
	defer rows.Close()
	var out []*AgentCertificate
	for rows.Next() {
		var c AgentCertificate
		if err := rows.Scan(&c.Serial, &c.AgentID, &c.Template, &c.NotAfter, &c.IssuedAt, &c.RevokedAt); err != nil {
			return nil, err
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}

// AgentCertificateBySerial returns the site's certificate with serial
// (in ctx's transaction), or an errs.NotFound error naming it.
func AgentCertificateBySerial(ctx context.Context, tx pgx.Tx, serial string) (*AgentCertificate, error) {
	var c AgentCertificate
	err := tx.QueryRow(ctx, `SELECT serial, agent_id, template, not_after, issued_at, revoked_at FROM agent_certificates WHERE serial = $1`, serial).
		Scan(&c.Serial, &c.AgentID, &c.Template, &c.NotAfter, &c.IssuedAt, &c.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no agent certificate with serial %s in this site", serial)
	}
	if err != nil {
		return nil, fmt.Errorf("reading agent certificate %s: %w", serial, err)
	}
	return &c, nil
}

// MarkAgentCertificatesRevoked marks serials revoked (after the agent
// manager revoked them).
func MarkAgentCertificatesRevoked(ctx context.Context, tx pgx.Tx, serials []string) error {
	_, err := tx.Exec(ctx, `UPDATE agent_certificates SET revoked_at = now() WHERE serial = ANY($1) AND revoked_at IS NULL`, serials)
	return err
}

// RegisterAgentHost creates, once, the host that a template certificate's
// agent connected for: <host name=HOST extends=TEMPLATE agent-id=ID
// address=ADDRESS/>, applied like any configuration change (validated,
// recorded in config_revisions with source "agent-registration"). Under the
// site's configuration lock a host already having the agent id (or its
// name) is left alone, so an agent that reconnects repeatedly creates
// exactly one host. It reports whether it created one.
func (c *Configs) RegisterAgentHost(ctx context.Context, db tenants.Beginner, site uuid.UUID, template, agentID, hostName, address string) (bool, error) {
	agentID = strings.TrimSpace(agentID)
	hostName = strings.TrimSpace(hostName)
	if agentID == "" {
		agentID = hostName
	}
	if hostName == "" {
		hostName = agentID
	}
	created := false
	err := tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		if err := LockSiteConfig(ctx, tx, site); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM checks WHERE kind = 'host' AND (agent_id = $1 OR name = $2))`, agentID, hostName).Scan(&exists); err != nil {
			return fmt.Errorf("looking for the agent's host: %w", err)
		}
		if exists {
			return nil
		}
		x := fmt.Sprintf(`<bergamot><host name="%s" extends="%s" agent-id="%s"`, xmlEscape(hostName), xmlEscape(template), xmlEscape(agentID))
		if address != "" {
			x += fmt.Sprintf(` address="%s"`, xmlEscape(address))
		}
		x += "/></bergamot>"
		doc, err := config.Parse("agent-registration", strings.NewReader(x))
		if err != nil {
			return errs.E(errs.Invalid, "host %s from template %s: %v", hostName, template, err)
		}
		res, err := c.Apply(ctx, tx, doc, "agent "+agentID, "agent-registration", false)
		if err != nil {
			return err
		}
		if !res.OK {
			return errs.E(errs.Invalid, "host %s from template %s: %v", hostName, template, res.Errors)
		}
		created = true
		return nil
	})
	return created, err
}

// RenewAgentConnection records that connection id now speaks with a
// renewed certificate (its serial and expiry).
func RenewAgentConnection(ctx context.Context, db tenants.Beginner, site, id uuid.UUID, serial string, expires time.Time) error {
	return tenants.InSite(tenants.WithSite(ctx, site), db, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE agent_connections SET serial = $2, cert_expires = $3 WHERE id = $1`, id, serial, expires); err != nil {
			return fmt.Errorf("recording a renewed agent certificate: %w", err)
		}
		return nil
	})
}
