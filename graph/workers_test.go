package graph_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// Worker keys through GraphQL: the key is shown once, lists never show it,
// another site cannot revoke it, an editor cannot create one, a shared
// zone's name is refused, and zones lists the site's private zones.
func TestWorkerKeys(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	e.Apply(t, a.Token, `<bergamot site="alpha"><command name="d" engine="dummy"/>
<host name="h" address="127.0.0.1" worker-pool="edge"><service name="s"><check-command command="d"/></service></host></bergamot>`)
	var created struct {
		CreateWorkerKey struct {
			ID, Name, Zone string
			Key            *string
			LastSeen       *string
		}
	}
	e.MustDo(t, a.Token, `mutation { createWorkerKey(zone: "edge", name: "dc1") { id name zone key lastSeen } }`, nil, &created)
	k := created.CreateWorkerKey
	if k.Zone != "edge" || k.Name != "dc1" || k.Key == nil || !strings.HasPrefix(*k.Key, "bgw_") || k.LastSeen != nil {
		t.Fatalf("created key: %+v", k)
	}
	var list struct {
		WorkerKeys []struct {
			ID      string
			Key     *string
			Revoked bool
		}
	}
	e.MustDo(t, a.Token, `{ workerKeys { id key revoked } }`, nil, &list)
	if len(list.WorkerKeys) != 1 || list.WorkerKeys[0].Key != nil || list.WorkerKeys[0].ID != k.ID {
		t.Fatalf("listed keys: %+v", list)
	}
	var zones struct {
		Zones []struct {
			Name    string
			Shared  bool
			Checks  int
			Workers []struct{ Name string }
		}
	}
	e.MustDo(t, a.Token, `{ zones { name shared checks workers { name } } }`, nil, &zones)
	found := false
	for _, z := range zones.Zones {
		if z.Name == "edge" {
			found = true
			if z.Shared || z.Checks != 1 || len(z.Workers) != 0 { // the service (the host has no check command)
				t.Errorf("zone edge: %+v", z)
			}
		}
	}
	if !found {
		t.Fatalf("zones %+v lack edge", zones)
	}
	// Another site cannot revoke it.
	if r := e.Do(t, b.Token, `mutation($id: ID!) { revokeWorkerKey(id: $id) }`, map[string]any{"id": k.ID}); r.Code() != "NOT_FOUND" {
		t.Fatalf("bravo revoking alpha's key: %+v", r)
	}
	// A shared zone is not a site's zone.
	if r := e.Do(t, a.Token, `mutation { createWorkerKey(zone: "default", name: "x") { id } }`, nil); r.Code() != "INVALID" {
		t.Fatalf("key for the shared zone: %+v", r)
	}
	var revoked struct{ RevokeWorkerKey bool }
	e.MustDo(t, a.Token, `mutation($id: ID!) { revokeWorkerKey(id: $id) }`, map[string]any{"id": k.ID}, &revoked)
	if !revoked.RevokeWorkerKey {
		t.Fatal("revokeWorkerKey answered false")
	}
	if r := e.Do(t, a.Token, `mutation($id: ID!) { revokeWorkerKey(id: $id) }`, map[string]any{"id": k.ID}); r.Code() != "NOT_FOUND" {
		t.Fatalf("revoking twice: %+v", r)
	}
	// An editor cannot create keys.
	e.Invite(t, a.Token, "e@alpha.example", "Editor-pass-123", "EDITOR")
	var login struct{ Login struct{ Token string } }
	e.MustDo(t, "", `mutation { login(site: "alpha", email: "e@alpha.example", password: "Editor-pass-123") { token } }`, nil, &login)
	if r := e.Do(t, login.Login.Token, `mutation { createWorkerKey(zone: "edge", name: "x") { id } }`, nil); r.Code() != "FORBIDDEN" {
		t.Fatalf("editor creating a key: %+v", r)
	}
}
