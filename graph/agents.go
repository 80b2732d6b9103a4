package graph

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// AgentHub is what the API needs of this node's agent hub.
type AgentHub interface {
	// URL is the agent URL agents dial; RootPEM the CA they trust.
	URL() string
	RootPEM() []byte
	// RevokeHost revokes every certificate of the site's host.
	RevokeHost(ctx context.Context, site *tenants.Site, host string) ([]string, error)
	// RevokeSerial revokes one certificate of the site by serial.
	RevokeSerial(ctx context.Context, site *tenants.Site, serial string) ([]string, error)
}

// EnrolmentTTL is how long an enrolment token stays valid.
const EnrolmentTTL = time.Hour

// agentLiveFor is how long a connection counts as live without a refresh.
const agentLiveFor = 30 * time.Second

func (r *Resolver) agentHub() (AgentHub, error) {
	if r.Agents == nil {
		return nil, errs.E(errs.Invalid, "this Bergamot runs no agent hub: the operator starts serve with --agent-manager HOST:PORT (docs/agent.md)")
	}
	return r.Agents, nil
}

func agentAdmin(ctx context.Context) (*tenants.Principal, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Role.CanManageUsers() {
		return nil, errs.E(errs.Forbidden, "only administrators can enrol and revoke agents")
	}
	return p, nil
}

func (r *Resolver) agents(ctx context.Context) ([]*store.AgentConnection, error) {
	var out []*store.AgentConnection
	err := tenants.ReadSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.AgentConnections(ctx, tx)
		return err
	})
	return nonNilSlice(out), err
}

func (r *Resolver) agentCertificates(ctx context.Context, agentID string) ([]*store.AgentCertificate, error) {
	if _, err := agentAdmin(ctx); err != nil {
		return nil, err
	}
	var out []*store.AgentCertificate
	err := tenants.ReadSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.AgentCertificates(ctx, tx, strings.TrimSpace(agentID))
		return err
	})
	return nonNilSlice(out), err
}

// normalSerial is how serials are stored: lower-case hex, no 0x or colons.
func normalSerial(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(s), ":", ""), "0x"))
}

// revokeAgentCertificate revokes one of the site's certificates by serial:
// a serial the site's ledger does not hold is NotFound (another site's
// serial among them), whatever the agent manager knows.
func (r *Resolver) revokeAgentCertificate(ctx context.Context, serial string) ([]string, error) {
	p, err := agentAdmin(ctx)
	if err != nil {
		return nil, err
	}
	serial = normalSerial(serial)
	if serial == "" {
		return nil, errs.E(errs.Invalid, "serial: give the certificate's serial (hex, as listed)")
	}
	hub, err := r.agentHub()
	if err != nil {
		return nil, err
	}
	err = tenants.ReadSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.AgentCertificateBySerial(ctx, tx, serial)
		return err
	})
	if err != nil {
		return nil, err
	}
	serials, err := hub.RevokeSerial(ctx, p.Site, serial)
	if err != nil {
		return nil, err
	}
	err = tenants.EditSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.MarkAgentCertificatesRevoked(ctx, tx, []string{serial})
	})
	return nonNilSlice(serials), err
}

func (r *Resolver) agentHubInfo(ctx context.Context) (*model.AgentHub, error) {
	if _, err := tenants.PrincipalFrom(ctx); err != nil {
		return nil, err
	}
	if r.Agents == nil {
		return nil, nil
	}
	return &model.AgentHub{URL: r.Agents.URL(), CaCertificate: string(r.Agents.RootPEM())}, nil
}

func (r *Resolver) createAgentEnrolment(ctx context.Context, host string, template bool) (*model.AgentEnrolment, error) {
	p, err := agentAdmin(ctx)
	if err != nil {
		return nil, err
	}
	hub, err := r.agentHub()
	if err != nil {
		return nil, err
	}
	var e *store.AgentEnrolment
	err = tenants.EditSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		uid := p.User.ID
		e, err = store.CreateAgentEnrolment(ctx, tx, host, template, &uid, EnrolmentTTL)
		return err
	})
	if err != nil {
		return nil, err
	}
	url := hub.URL()
	steps := []string{
		"cat > ca.crt <<'EOF'\n" + string(hub.RootPEM()) + "EOF",
		fmt.Sprintf("bergamot agent enrol --hub %s --ca ca.crt --out /etc/bergamot-agent --token %s", url, e.Token),
	}
	run := "bergamot agent --hub " + url + " --cert /etc/bergamot-agent/agent.crt --key /etc/bergamot-agent/agent.key --ca /etc/bergamot-agent/ca.crt"
	if template {
		run += " --agent-id \"$(hostname)\""
	}
	steps = append(steps, run)
	return &model.AgentEnrolment{Host: e.Host, Template: e.Template, Token: e.Token, ExpiresAt: e.ExpiresAt,
		Hub: &model.AgentHub{URL: url, CaCertificate: string(hub.RootPEM())}, Commands: steps}, nil
}

func (r *Resolver) revokeAgent(ctx context.Context, host string) ([]string, error) {
	p, err := agentAdmin(ctx)
	if err != nil {
		return nil, err
	}
	hub, err := r.agentHub()
	if err != nil {
		return nil, err
	}
	serials, err := hub.RevokeHost(ctx, p.Site, host)
	if err != nil {
		return nil, err
	}
	err = tenants.EditSite(ctx, r.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return store.MarkAgentCertificatesRevoked(ctx, tx, serials)
	})
	return nonNilSlice(serials), err
}
