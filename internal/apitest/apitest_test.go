package apitest_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestValidatesLikeProduction: the rig applies configuration with the
// production validators (internal/node.Validators), so an API test sees
// the errors a user would: an unknown host in a cluster condition, a
// condition cycle, a bad freshness parameter.
func TestValidatesLikeProduction(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	var out struct {
		ApplyConfig struct {
			OK     bool
			Errors []struct{ Message string }
		}
	}
	xml := `<bergamot site="alpha">
  <host name="h"><service name="s"><parameter name="freshness">tomorrow</parameter></service></host>
  <cluster name="a"><condition>cluster 'b' and host 'nowhere'</condition></cluster>
  <cluster name="b"><condition>cluster 'a'</condition></cluster>
</bergamot>`
	e.MustDo(t, a.Token, `mutation($x: String!) { applyConfig(xml: $x) { ok errors { message } } }`, map[string]any{"x": xml}, &out)
	if out.ApplyConfig.OK {
		t.Fatal("applyConfig accepted an invalid configuration")
	}
	var msgs []string
	for _, e := range out.ApplyConfig.Errors {
		msgs = append(msgs, e.Message)
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{`condition refers to unknown host "nowhere"`, "condition depends on itself", `"tomorrow"`} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
