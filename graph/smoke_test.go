package graph_test

import (
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

func TestSmoke(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(t, a.Token)
	t.Logf("%v", ids)
	e.Submit(t, a.Token, ids["web1/http"], "CRITICAL", "down")
}
