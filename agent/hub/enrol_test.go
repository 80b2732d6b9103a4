package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// adminToken makes an administrator of site and an API token for them.
func (r *rig) adminToken(site string) string {
	r.t.Helper()
	ctx := tenants.WithSite(r.ctx, r.sites[site])
	var m *tenants.Member
	err := tenants.InSite(ctx, r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		m, err = tenants.AddMember(ctx, tx, r.sites[site], "admin-"+site+"@example.com", "a long enough passphrase 123", tenants.RoleAdmin)
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	tok, err := tenants.NewStore(r.db.Pool).CreateToken(ctx, m.ID, "test")
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// gql posts a GraphQL query with token and decodes data into out; it
// returns the errors' messages.
func gql(t *testing.T, addr, token, query string, out any) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var res struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Message)
	}
	if out != nil && len(res.Data) > 0 && string(res.Data) != "null" {
		if err := json.Unmarshal(res.Data, out); err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

// TestEnrolmentThroughGraphQL: a site administrator gets a one-time
// enrolment token and copy-paste steps from GraphQL; bergamot agent enrol
// makes the key on the host (0600) and exchanges a certificate request for
// the certificate; the agent connects and shows in agents (not in the other
// site's); the token does not work twice; revokeAgent drops the agent.
func TestEnrolmentThroughGraphQL(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML, "b": hostXML})
	serve, hubURL := r.serve()
	var addr string
	for addr == "" {
		if l := serve.logs.find("serving"); l != nil {
			addr, _ = l["addr"].(string)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tokA, tokB := r.adminToken("a"), r.adminToken("b")

	var enrol struct {
		CreateAgentEnrolment struct {
			Token    string
			Commands []string
			Hub      struct{ URL, CaCertificate string }
		}
	}
	if errs := gql(t, addr, tokA, `mutation { createAgentEnrolment(host: "agent-1") { token commands hub { url caCertificate } } }`, &enrol); len(errs) > 0 {
		t.Fatal(errs)
	}
	e := enrol.CreateAgentEnrolment
	if e.Hub.URL != hubURL || !strings.HasPrefix(e.Token, "bga_") || len(e.Commands) != 3 || !strings.Contains(e.Commands[1], e.Token) {
		t.Fatalf("enrolment answer %+v (hub %s)", e, hubURL)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, []byte(e.Hub.CaCertificate), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "agent")
	r.run("agent", "enrol", "--hub", e.Hub.URL, "--token", e.Token, "--ca", ca, "--out", out)
	if fi, err := os.Stat(filepath.Join(out, "agent.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent.key: %v, mode %v; want 0600", err, fi)
	}
	again, err := exec.Command(bergamotBinary(t), "agent", "enrol", "--hub", e.Hub.URL, "--token", e.Token, "--ca", ca, "--out", filepath.Join(dir, "again")).CombinedOutput()
	if err == nil || !strings.Contains(string(again), "enrolment token unknown, expired or already used") {
		t.Fatalf("second use of the token: %v\n%s", err, again)
	}

	r.agent(out, hubURL)
	start := time.Now()
	r.due("a")
	r.waitStates("a", "web1", start, 90*time.Second, healthy)

	type agents struct {
		Agents []struct {
			AgentID   string
			Connected bool
			Version   string
			Node      string
			Serial    string
		}
	}
	var la, lb agents
	if errs := gql(t, addr, tokA, `{ agents { agentId connected version node serial } }`, &la); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(la.Agents) != 1 || la.Agents[0].AgentID != "agent-1" || !la.Agents[0].Connected || la.Agents[0].Node == "" {
		t.Fatalf("site A agents: %+v", la.Agents)
	}
	if errs := gql(t, addr, tokB, `{ agents { agentId connected } }`, &lb); len(errs) > 0 || len(lb.Agents) != 0 {
		t.Fatalf("site B sees agents %+v (%v)", lb.Agents, errs)
	}
	var certs struct {
		AgentCertificates []struct {
			Serial  string
			Revoked bool
		}
	}
	gql(t, addr, tokA, `{ agentCertificates { serial revoked } }`, &certs)
	if len(certs.AgentCertificates) != 1 || certs.AgentCertificates[0].Serial != la.Agents[0].Serial {
		t.Fatalf("certificates %+v, want the one the agent holds (%s)", certs.AgentCertificates, la.Agents[0].Serial)
	}
	if errs := gql(t, addr, tokB, `mutation { revokeAgent(host: "agent-1") }`, nil); len(errs) == 0 {
		t.Fatal("site B revoked site A's agent")
	}
	var rev struct{ RevokeAgent []string }
	if errs := gql(t, addr, tokA, `mutation { revokeAgent(host: "agent-1") }`, &rev); len(errs) > 0 || len(rev.RevokeAgent) != 1 {
		t.Fatalf("revokeAgent: %v %v", rev, errs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for serve.logs.find("closing agent: its certificate was revoked", rev.RevokeAgent[0]) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the revoked agent was not dropped within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	gql(t, addr, tokA, `{ agentCertificates { serial revoked } }`, &certs)
	if !certs.AgentCertificates[0].Revoked {
		t.Fatal("the certificate is not marked revoked")
	}
}
