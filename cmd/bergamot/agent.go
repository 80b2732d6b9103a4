package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent"
	"github.com/bergamot-monitoring/bergamot/agent/hub"
	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/probe"
	"github.com/bergamot-monitoring/bergamot/metrics"
)

const agentManagerUsage = `bergamot agent-manager init --dir DIR [--names HOST,IP...] [--key-type ecdsa|ed25519]
  bergamot agent-manager serve --dir DIR [--listen :8444] [--lifetime 2160h] [--metrics-listen ADDR]

  init makes the root CA, the manager's TLS certificate (for --names) and DIR/node/, the
  credentials serve nodes present: copy DIR/node to each serve node and start it with
  serve --agent-manager HOST:8444 --agent-manager-creds DIR. Site CAs are made on first use.`

const agentUsage = `bergamot agent --hub wss://HOST:8443/agent[,URL...] --cert agent.crt --key agent.key --ca ca.crt
  bergamot agent enrol --hub https://HOST:8443 --token TOKEN --ca ca.crt --out DIR
  bergamot agent cert --dir MANAGER-DIR --site SITE --host HOST --out DIR [--template]
  bergamot agent revoke --dir MANAGER-DIR --site SITE (SERIAL | --host HOST)

  Run the agent on the host it checks; enrol with a token from the dashboard (the key is made
  on this host and never leaves it), or have the operator run agent cert on the manager.`

func cmdAgentManager(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		return errUsage
	}
	switch args[0] {
	case "init":
		fs := newFlags("agent-manager init", "bergamot agent-manager init --dir DIR [--names HOST,IP...] [--key-type ecdsa|ed25519]")
		dir := fs.String("dir", "", "the manager's data directory (created 0700; keys are written 0600)")
		names := fs.String("names", "", "host names and addresses serve nodes reach the manager by (default this host's name, localhost, 127.0.0.1, ::1)")
		keyType := fs.String("key-type", manager.KeyECDSA, "key type for the CAs and certificates: ecdsa (P-256) or ed25519")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("agent-manager init: --dir DIR is required")
		}
		ns := splitList(*names)
		if len(ns) == 0 {
			host, _ := os.Hostname()
			ns = []string{host, "localhost", "127.0.0.1", "::1"}
		}
		ca, err := manager.Init(*dir, *keyType, ns)
		if err != nil {
			return fmt.Errorf("agent-manager init: %w", err)
		}
		fmt.Printf("Agent manager initialised in %s (root CA serial %s, %s keys).\n\n", *dir, manager.SerialString(ca.Root()), *keyType)
		fmt.Printf("Next:\n  1. bergamot agent-manager serve --dir %s --listen :8444\n", *dir)
		fmt.Printf("  2. copy %s to each serve node, then:\n     bergamot serve --agent-manager MANAGER-HOST:8444 --agent-manager-creds DIR-COPY\n",
			filepath.Join(*dir, "node"))
		fmt.Printf("  3. give agents the root: %s (their ca.crt)\n", filepath.Join(*dir, "root.crt"))
		return nil
	case "serve":
		fs := newFlags("agent-manager serve", "bergamot agent-manager serve --dir DIR [--listen :8444] [--metrics-listen ADDR]")
		dir := fs.String("dir", "", "the manager's data directory (from agent-manager init)")
		listen := fs.String("listen", getenv("BERGAMOT_AGENT_MANAGER_LISTEN", ":8444"), "address of the mutual-TLS API for serve nodes (env BERGAMOT_AGENT_MANAGER_LISTEN)")
		lifetime := fs.Duration("lifetime", manager.DefaultLifetime, "lifetime of agent certificates (agents renew after two thirds of it)")
		keyType := fs.String("key-type", manager.KeyECDSA, "key type for new site CAs: ecdsa (P-256) or ed25519")
		metricsListen := addMetricsFlag(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("agent-manager serve: --dir DIR is required")
		}
		ca, err := manager.Open(*dir)
		if err != nil {
			return err
		}
		ca.Lifetime, ca.KeyType = *lifetime, *keyType
		log := env.Logger.With(slog.String("role", "agent-manager"))
		metrics.Role(version, "agent-manager")
		metrics.AgentManager(func() (*metrics.AgentCA, error) {
			st, err := ca.Stats()
			if err != nil {
				return nil, err
			}
			return &metrics.AgentCA{Issued: st.Issued, Revoked: st.Revoked, Expires: st.Expires}, nil
		})
		if err := serveMetrics(ctx, log, *metricsListen); err != nil {
			return err
		}
		srv := &manager.Server{CA: ca, Logger: log}
		return srv.Serve(ctx, *listen, func(addr string) {
			log.InfoContext(ctx, "agent manager serving", slog.String("addr", addr), slog.String("dir", *dir))
		})
	}
	return fmt.Errorf("agent-manager: unknown subcommand %q (want init or serve)", args[0])
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdAgent(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "cert":
			return cmdAgentCert(args[1:])
		case "revoke":
			return cmdAgentRevoke(args[1:])
		case "enrol", "enroll":
			return cmdAgentEnrol(ctx, args[1:])
		}
	}
	fs := newFlags("agent", "bergamot agent --hub wss://HOST:8443/agent[,URL...] --cert agent.crt --key agent.key --ca ca.crt")
	hubs := fs.String("hub", os.Getenv("BERGAMOT_AGENT_HUB"), "hub URL(s), comma-separated: wss://HOST:8443/agent (env BERGAMOT_AGENT_HUB)")
	cert := fs.String("cert", "agent.crt", "the agent's certificate (with its site CA after it)")
	key := fs.String("key", "agent.key", "the agent's private key")
	ca := fs.String("ca", "ca.crt", "the root CA that signs hubs")
	name := fs.String("name", "", "the host name reported (default this host's name)")
	agentID := fs.String("agent-id", "", "with a template certificate: the host id to register (default the host name)")
	address := fs.String("address", "", "with a template certificate: the address of the host to register")
	pluginDirs := fs.String("plugin-dir", "/usr/lib/nagios/plugins", "directories of Nagios plugins the agent may run, comma-separated: its allow-list")
	scriptDirs := fs.String("script-dir", "", "directories of scripts the agent may run, comma-separated (default none)")
	conc := fs.Int("concurrency", 16, "checks run at once")
	statsdListen := fs.String("statsd-listen", getenv("BERGAMOT_AGENT_STATSD_LISTEN", probe.DefaultStatsdListen),
		"UDP address applications send statsd metrics to, read by the metrics checks (env BERGAMOT_AGENT_STATSD_LISTEN; \"off\" disables)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hubs == "" {
		return errors.New("agent: --hub wss://HOST:8443/agent is required (the hub of your Bergamot, from the dashboard's Agents page)")
	}
	var urls []string
	for _, u := range splitList(*hubs) {
		if !strings.HasPrefix(u, "wss://") {
			return fmt.Errorf("--hub %q: want a wss:// URL such as wss://bergamot.example:8443/agent", u)
		}
		urls = append(urls, u)
	}
	host := *name
	if host == "" {
		host, _ = os.Hostname()
	}
	log := env.Logger.With(slog.String("role", "agent"))
	var sd *probe.Statsd
	if *statsdListen != "" && *statsdListen != "off" {
		sd = probe.NewStatsd()
		sd.Logger = log
		if got, err := sd.Listen(ctx, *statsdListen); err != nil {
			// The host's checks still run; the metrics checks report this.
			log.WarnContext(ctx, "not receiving statsd metrics", slog.Any("error", err))
		} else {
			log.InfoContext(ctx, "statsd listening", slog.String("addr", got))
		}
	}
	a := &agent.Agent{Hubs: urls, CertFile: *cert, KeyFile: *key, CAFile: *ca, Host: host, AgentID: *agentID, Address: *address,
		Version: version, Logger: log, Concurrency: *conc,
		Probes: probe.New(probe.Probes{Version: version, Host: host, PluginDirs: splitList(*pluginDirs), ScriptDirs: splitList(*scriptDirs), Statsd: sd})}
	return a.Run(ctx)
}

func cmdAgentCert(args []string) error {
	fs := newFlags("agent cert", "bergamot agent cert --dir MANAGER-DIR --site SITE --host HOST --out DIR [--template]")
	dir := fs.String("dir", getenv("BERGAMOT_AGENT_MANAGER_DIR", ""), "the agent manager's data directory (env BERGAMOT_AGENT_MANAGER_DIR)")
	site := fs.String("site", "", "the site (its id, or its name)")
	host := fs.String("host", "", "the host id the certificate speaks for (the host's agent-id, else its name)")
	out := fs.String("out", "", "directory to write agent.crt, agent.key (0600) and ca.crt into")
	template := fs.Bool("template", false, "make a template certificate: --host names the host template agents holding it register their host from")
	lifetime := fs.Duration("lifetime", 0, "certificate lifetime (default the manager's, 90 days)")
	keyType := fs.String("key-type", manager.KeyECDSA, "ecdsa (P-256) or ed25519")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *site == "" || *host == "" || *out == "" {
		return errors.New("agent cert: --dir, --site, --host and --out are required")
	}
	ca, err := manager.Open(*dir)
	if err != nil {
		return err
	}
	key, err := manager.NewKey(*keyType)
	if err != nil {
		return err
	}
	kind := manager.KindAgent
	if *template {
		kind = manager.KindTemplate
	}
	signed, err := ca.SignAgent(manager.Identity{Kind: kind, Site: *site, Name: *host}, key.Public(), *lifetime)
	if err != nil {
		return fmt.Errorf("agent cert: %w", err)
	}
	if err := manager.WriteAgentFiles(*out, signed, key); err != nil {
		return fmt.Errorf("agent cert: writing %s: %w", *out, err)
	}
	fmt.Printf("Wrote %s/agent.crt, agent.key and ca.crt: %s %s of site %s, serial %s, valid until %s.\n",
		*out, kind, *host, *site, signed.Serial, signed.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

func cmdAgentRevoke(args []string) error {
	fs := newFlags("agent revoke", "bergamot agent revoke --dir MANAGER-DIR --site SITE (SERIAL | --host HOST)")
	dir := fs.String("dir", getenv("BERGAMOT_AGENT_MANAGER_DIR", ""), "the agent manager's data directory (env BERGAMOT_AGENT_MANAGER_DIR)")
	site := fs.String("site", "", "the site, as its certificates name it")
	host := fs.String("host", "", "revoke every certificate of this host")
	if err := fs.Parse(args); err != nil {
		return err
	}
	serial := strings.Join(fs.Args(), "")
	if *dir == "" || *site == "" || (serial == "") == (*host == "") {
		return errors.New("agent revoke: give --dir, --site and either a SERIAL or --host HOST")
	}
	ca, err := manager.Open(*dir)
	if err != nil {
		return err
	}
	got, err := ca.Revoke(*site, serial, *host)
	if err != nil {
		return fmt.Errorf("agent revoke: %w", err)
	}
	if len(got) == 0 {
		fmt.Println("Already revoked; nothing changed.")
		return nil
	}
	fmt.Printf("Revoked %s. Hubs drop the agents holding them within a few seconds.\n", strings.Join(got, ", "))
	return nil
}

func cmdAgentEnrol(ctx context.Context, args []string) error {
	fs := newFlags("agent enrol", "bergamot agent enrol --hub https://HOST:8443 --token TOKEN --ca ca.crt --out DIR")
	hubURL := fs.String("hub", "", "the hub's address: https://HOST:8443 (or the wss:// agent URL)")
	token := fs.String("token", os.Getenv("BERGAMOT_AGENT_TOKEN"), "the one-time enrolment token from the dashboard (env BERGAMOT_AGENT_TOKEN)")
	caFile := fs.String("ca", "ca.crt", "the root CA that signs hubs (from the dashboard)")
	out := fs.String("out", ".", "directory to write agent.crt, agent.key (0600) and ca.crt into")
	name := fs.String("name", "", "common name of the request (default this host's name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hubURL == "" || *token == "" {
		return errors.New("agent enrol: --hub and --token are required")
	}
	u := strings.TrimSuffix(strings.Replace(strings.Replace(*hubURL, "wss://", "https://", 1), "/agent", "", 1), "/") + "/agent/enrol"
	pemCA, err := os.ReadFile(*caFile)
	if err != nil {
		return fmt.Errorf("agent enrol: reading --ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		return fmt.Errorf("agent enrol: --ca %s holds no PEM certificate", *caFile)
	}
	key, err := manager.NewKey("")
	if err != nil {
		return err
	}
	cn := *name
	if cn == "" {
		cn, _ = os.Hostname()
	}
	csr, err := manager.NewCSR(key, cn)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(hub.EnrolRequest{Token: *token, CSR: csr})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("agent enrol: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("agent enrol: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var signed manager.Signed
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&signed); err != nil {
		return fmt.Errorf("agent enrol: reading the answer: %w", err)
	}
	if err := manager.WriteAgentFiles(*out, &signed, key); err != nil {
		return err
	}
	fmt.Printf("Enrolled: certificate %s valid until %s, in %s (agent.crt, agent.key, ca.crt).\nStart the agent:\n  bergamot agent --hub %s --cert %s --key %s --ca %s\n",
		signed.Serial, signed.NotAfter.UTC().Format(time.RFC3339), *out, strings.Replace(strings.TrimSuffix(u, "/enrol"), "https://", "wss://", 1),
		filepath.Join(*out, "agent.crt"), filepath.Join(*out, "agent.key"), filepath.Join(*out, "ca.crt"))
	return nil
}
