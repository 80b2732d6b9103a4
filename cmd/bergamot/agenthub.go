package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/agent/hub"
	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// agentOptions are serve's agent hub flags.
type agentOptions struct {
	manager string // host:port of the agent manager; empty: no hub
	creds   string // the node credentials directory (the manager's DIR/node)
	listen  string // the hub's TLS listener
	names   []string
}

// agentHubNode is what the rest of a serve node (GraphQL) uses of the hub.
type agentHubNode struct {
	Hub  *hub.Hub
	Root []byte // PEM of the root CA agents trust
	// url is the hub's agent URL as agents should dial it.
	url string
}

// startAgentHub asks the agent manager for the hub's server certificate,
// listens on o.listen and runs the hub; its loops join g.
func startAgentHub(ctx context.Context, env *Env, db *DB, sealer *store.Sealer, o agentOptions, node string, g *errgroup.Group) (*agentHubNode, error) {
	log := env.Logger.With(slog.String("component", "agent-hub"))
	if o.creds == "" {
		o.creds = filepath.Join(env.Data, "agent-manager-node")
	}
	mc, err := manager.NewClient(o.manager, o.creds)
	if err != nil {
		return nil, err
	}
	names := o.names
	if len(names) == 0 {
		host, _ := os.Hostname()
		names = []string{host, "localhost", "127.0.0.1", "::1"}
	}
	key, err := manager.NewKey("")
	if err != nil {
		return nil, err
	}
	csr, err := manager.NewCSR(key, "Bergamot agent hub "+node)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	signed, err := mc.SignHub(sctx, manager.HubRequest{CSR: csr, Names: names})
	if err != nil {
		return nil, fmt.Errorf("agent hub: getting the hub certificate from the agent manager: %w", err)
	}
	kp, err := manager.KeyPEM(key)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(signed.Cert, kp)
	if err != nil {
		return nil, fmt.Errorf("agent hub: %w", err)
	}
	root, err := manager.ParseCertPEM(signed.Root)
	if err != nil {
		return nil, fmt.Errorf("agent hub: the manager's root: %w", err)
	}
	sites := tenants.NewStore(db.Pool)
	cfgs := &store.Configs{Sealer: sealer, Validators: validators()}
	w := &jobs.ExecuteWorker{Pool: db.Pool, Sealer: sealer, Logger: log, SpecTTL: time.Minute}
	g.Go(w.FollowConfig(ctx))
	h := &hub.Hub{Pool: db.Pool, Logger: log, Worker: w, Node: node, Manager: mc, Verify: &hub.Verifier{Root: root},
		Sites: func(ctx context.Context, ref string) (uuid.UUID, error) {
			if id, err := uuid.Parse(ref); err == nil {
				s, err := sites.SiteByID(ctx, id)
				if err != nil {
					return uuid.Nil, fmt.Errorf("no such site: %w", err)
				}
				return s.ID, nil
			}
			s, err := sites.SiteByName(ctx, ref)
			if err != nil {
				return uuid.Nil, fmt.Errorf("no such site: %w", err)
			}
			return s.ID, nil
		},
		Register: func(ctx context.Context, site uuid.UUID, template string, hello *wire.Hello) error {
			created, err := cfgs.RegisterAgentHost(ctx, db.Pool, site, template, hello.AgentID, hello.Host, hello.Address)
			if created {
				log.InfoContext(ctx, "host registered from a template certificate", slog.String("site", site.String()),
					slog.String("template", template), slog.String("host", hello.Host))
			}
			return err
		},
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("agent hub: listening on %s: %w (set BERGAMOT_AGENT_LISTEN or --agent-listen)", o.listen, err)
	}
	if err := h.Start(ctx); err != nil {
		_ = ln.Close()
		return nil, err
	}
	g.Go(func() error { return h.Serve(ctx, ln, cert) })
	g.Go(func() error { return h.Run(ctx) })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	log.InfoContext(ctx, "agent hub listening", slog.String("addr", ln.Addr().String()), slog.Any("names", names), slog.String("manager", o.manager))
	return &agentHubNode{Hub: h, Root: signed.Root, url: "wss://" + net.JoinHostPort(names[0], port) + "/agent"}, nil
}

// URL is the agent URL agents dial.
func (n *agentHubNode) URL() string { return n.url }

// RootPEM is the root CA agents trust.
func (n *agentHubNode) RootPEM() []byte { return n.Root }

// RevokeHost revokes the host's certificates, whether they name the site
// by id (enrolment) or by name (bergamot agent cert --site NAME).
func (n *agentHubNode) RevokeHost(ctx context.Context, site *tenants.Site, host string) ([]string, error) {
	var all []string
	var firstErr error
	for _, ref := range []string{site.ID.String(), site.Name} {
		got, err := n.Hub.RevokeHost(ctx, ref, host)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		all = append(all, got...)
	}
	if len(all) == 0 && firstErr != nil {
		if strings.Contains(firstErr.Error(), "no certificate") {
			return nil, errs.E(errs.NotFound, "no certificate was issued for host %s of this site", host)
		}
		return nil, firstErr
	}
	return all, nil
}

// RevokeSerial revokes one certificate of the site, whether it names the
// site by id or by name. A serial already revoked revokes nothing.
func (n *agentHubNode) RevokeSerial(ctx context.Context, site *tenants.Site, serial string) ([]string, error) {
	var firstErr error
	for _, ref := range []string{site.ID.String(), site.Name} {
		got, err := n.Hub.RevokeSerial(ctx, ref, serial)
		if err == nil {
			return got, nil
		}
		firstErr = cmp.Or(firstErr, err)
	}
	if strings.Contains(firstErr.Error(), "no certificate") {
		return nil, errs.E(errs.NotFound, "the agent manager issued no certificate with serial %s for this site", serial)
	}
	return nil, firstErr
}

type agentFlags struct {
	manager, creds, listen, names *string
}

// addAgentFlags adds serve's agent hub flags.
func addAgentFlags(fs *flag.FlagSet) *agentFlags {
	return &agentFlags{
		manager: fs.String("agent-manager", os.Getenv("BERGAMOT_AGENT_MANAGER"), "the agent manager's HOST:PORT; enables the agent hub (env BERGAMOT_AGENT_MANAGER)"),
		creds: fs.String("agent-manager-creds", os.Getenv("BERGAMOT_AGENT_MANAGER_CREDS"),
			"directory holding node.crt, node.key and ca.crt: a copy of the manager's DIR/node (default $BERGAMOT_DATA/agent-manager-node)"),
		listen: fs.String("agent-listen", getenv("BERGAMOT_AGENT_LISTEN", ":8443"), "the agent hub's TLS listener (env BERGAMOT_AGENT_LISTEN)"),
		names: fs.String("agent-names", os.Getenv("BERGAMOT_AGENT_NAMES"),
			"host names and addresses agents reach this node's hub by, comma-separated: its certificate's names (default this host's name, localhost, 127.0.0.1, ::1)"),
	}
}

func (f *agentFlags) options() agentOptions {
	return agentOptions{manager: *f.manager, creds: *f.creds, listen: *f.listen, names: splitList(*f.names)}
}
