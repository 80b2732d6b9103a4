package hub_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type certList struct {
	AgentCertificates []struct {
		Serial, AgentID, Status string
		RevokedAt               *time.Time
	}
}

// TestRevokeCertificateBySerial: certificates issued on the manager's
// command line are listed per host from their first connection, with
// serial, expiry and status; site B's administrator cannot revoke site A's
// serial (not found, A's agent stays), site A's can (the serial typed as
// 0x..., upper case) and its agent is dropped while B's stays connected.
func TestRevokeCertificateBySerial(t *testing.T) {
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
	r.agent(r.cert(r.sites["a"].String(), "agent-1"), hubURL)
	r.agent(r.cert(r.sites["b"].String(), "agent-1"), hubURL)

	list := func(tok, agentID string) certList {
		var l certList
		if errs := gql(t, addr, tok, fmt.Sprintf(`{ agentCertificates(agentId: %q) { serial agentId status revokedAt notAfter } }`, agentID), &l); len(errs) > 0 {
			t.Fatal(errs)
		}
		return l
	}
	var la certList
	for deadline := time.Now().Add(30 * time.Second); len(la.AgentCertificates) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("site A lists no certificate for agent-1 after it connected")
		}
		la = list(tokA, "agent-1")
	}
	if len(la.AgentCertificates) != 1 || la.AgentCertificates[0].Status != "VALID" || la.AgentCertificates[0].RevokedAt != nil {
		t.Fatalf("site A's certificates of agent-1: %+v", la.AgentCertificates)
	}
	if other := list(tokA, "no-such-host"); len(other.AgentCertificates) != 0 {
		t.Errorf("filter by host: %+v", other.AgentCertificates)
	}
	serialA := la.AgentCertificates[0].Serial
	lb := list(tokB, "")
	if len(lb.AgentCertificates) != 1 || lb.AgentCertificates[0].Serial == serialA {
		t.Fatalf("site B's certificates %+v: want its own only", lb.AgentCertificates)
	}

	errs := gql(t, addr, tokB, fmt.Sprintf(`mutation { revokeAgentCertificate(serial: %q) }`, serialA), nil)
	if len(errs) == 0 || !strings.Contains(errs[0], "no agent certificate with serial "+serialA) {
		t.Fatalf("site B revoking site A's serial: %v, want not found", errs)
	}
	var rev struct{ RevokeAgentCertificate []string }
	if errs := gql(t, addr, tokA, fmt.Sprintf(`mutation { revokeAgentCertificate(serial: "0x%s") }`, strings.ToUpper(serialA)), &rev); len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(rev.RevokeAgentCertificate) != 1 || rev.RevokeAgentCertificate[0] != serialA {
		t.Fatalf("revoked %v, want [%s]", rev.RevokeAgentCertificate, serialA)
	}
	for deadline := time.Now().Add(15 * time.Second); serve.logs.find("closing agent: its certificate was revoked", serialA) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the agent holding the revoked certificate was not dropped within 15s")
		}
	}
	if la = list(tokA, "agent-1"); la.AgentCertificates[0].Status != "REVOKED" || la.AgentCertificates[0].RevokedAt == nil {
		t.Errorf("after revocation: %+v", la.AgentCertificates)
	}
	if serve.logs.find("closing agent: its certificate was revoked", lb.AgentCertificates[0].Serial) != nil {
		t.Error("site B's agent was dropped too")
	}
}
