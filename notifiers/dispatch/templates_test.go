package dispatch

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func TestSiteTemplateOverrides(t *testing.T) {
	def := notifiers.DefaultTemplates()
	var st siteTemplates
	same, err := st.forSite(def, Params{"smtp.host": "mail"})
	if err != nil || same != def {
		t.Fatalf("a site without template parameters uses the defaults: %v", err)
	}
	p := Params{"template.email.alert.subject": "PAGE: {{.Check.Name}} is {{.Status}}"}
	tpl, err := st.forSite(def, p)
	if err != nil {
		t.Fatal(err)
	}
	n := notifiers.TestNotification("acme")
	n.Type = notifiers.TypeAlert
	msg, err := tpl.Render("email", n)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(msg.Subject, "PAGE: ") {
		t.Fatalf("site subject not used: %q", msg.Subject)
	}
	if again, _ := st.forSite(def, p); again != tpl {
		t.Fatal("the same parameters must reuse the cached templates")
	}
	if dm, _ := def.Render("email", n); strings.HasPrefix(dm.Subject, "PAGE: ") {
		t.Fatal("a site's override leaked into the defaults")
	}

	m := resolveXML(t, `<bergamot site="s"><parameter name="template.email.alert.subject">{{.Nope</parameter></bergamot>`)
	errs := DefaultChannels(nil).Validate(m)
	if len(errs) == 0 || !strings.Contains(errs.Error(), "template.email.alert.subject") {
		t.Fatalf("a broken template must be a configuration error naming the parameter, got %v", errs)
	}
}
