package rest_test

import "testing"

// TestViewerRefusedAsInGraphQL: REST and GraphQL share one access rule
// (tenants/access.go), so a viewer changing the site is refused with the
// same message by both.
func TestViewerRefusedAsInGraphQL(t *testing.T) {
	f := setup(t)
	var id string
	for _, v := range f.aIDs {
		id = v
		break
	}
	var bad apiErr
	if code := f.call(t, "POST", "/api/v1/checks/"+id+"/acknowledge", f.viewer, map[string]string{"comment": "x"}, &bad); code != 403 || bad.Error.Code != "FORBIDDEN" {
		t.Fatalf("viewer POST acknowledge: %d %+v", code, bad)
	}
	r := f.e.Do(t, f.viewer, `mutation($c: ID!) { acknowledge(checkId: $c, comment: "x") { id } }`, map[string]any{"c": id})
	if r.Code() != "FORBIDDEN" || len(r.Errors) != 1 {
		t.Fatalf("viewer acknowledge: %+v", r.Errors)
	}
	if bad.Error.Message != r.Errors[0].Message {
		t.Errorf("REST says %q, GraphQL %q", bad.Error.Message, r.Errors[0].Message)
	}
}
