package graph_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// TestDependsOn: a check's <depends> show in the API as the checks
// themselves, with their state; another site's token cannot reach them.
func TestDependsOn(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	b := e.SignUp(t, "beta")
	xml := strings.Replace(apitest.SiteXML("alpha"),
		`<service name="http"><summary>HTTP</summary><check-command command="dummy-ok"/>`,
		`<service name="http"><summary>HTTP</summary><depends>web1/disk, web1</depends><check-command command="dummy-ok"/>`, 1)
	e.Apply(t, a.Token, xml)
	e.Apply(t, b.Token, apitest.SiteXML("beta"))
	ids := e.CheckIDs(t, a.Token)
	const q = `query($id: ID!) { check(id: $id) { name dependsOn { id name kind state { status } } } }`
	var got struct {
		Check *struct {
			Name      string
			DependsOn []struct {
				ID, Name, Kind string
				State          struct{ Status string }
			}
		}
	}
	e.MustDo(t, a.Token, q, map[string]any{"id": ids["web2/http"]}, &got)
	if got.Check == nil || len(got.Check.DependsOn) != 2 {
		t.Fatalf("web2/http dependsOn = %+v", got.Check)
	}
	if d := got.Check.DependsOn[0]; d.ID != ids["web1/disk"] || d.Name != "disk" || d.Kind != "SERVICE" || d.State.Status == "" {
		t.Errorf("first dependency = %+v, want web1/disk", d)
	}
	if d := got.Check.DependsOn[1]; d.ID != ids["web1"] || d.Kind != "HOST" {
		t.Errorf("second dependency = %+v, want host web1", d)
	}
	e.MustDo(t, a.Token, q, map[string]any{"id": ids["web1/disk"]}, &got)
	if got.Check == nil || len(got.Check.DependsOn) != 0 {
		t.Errorf("web1/disk dependsOn = %+v, want none", got.Check)
	}
	// Site B asks for A's check: not found, and nothing of A leaks.
	got.Check = nil
	e.MustDo(t, b.Token, q, map[string]any{"id": ids["web2/http"]}, &got)
	if got.Check != nil {
		t.Errorf("site B sees site A's check: %+v", got.Check)
	}
}
