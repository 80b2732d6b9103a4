package dispatch

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/config"
)

func resolveXML(t *testing.T, xml string) *config.Model {
	t.Helper()
	doc, err := config.Parse("test.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidateSiteLevelSecretWithContactAddresses(t *testing.T) {
	ok := resolveXML(t, `<bergamot site="s">
		<parameter name="webhook.secret">credential:hook</parameter>
		<credential name="hook"><password>s3cret</password></credential>
		<contact name="dave"><parameter name="webhook.url">https://hooks.example/dave</parameter></contact>
	</bergamot>`)
	if errs := DefaultChannels(nil).Validate(ok); len(errs) != 0 {
		t.Fatalf("a site-wide webhook secret with per-contact URLs is valid, got %v", errs)
	}
	bad := resolveXML(t, `<bergamot site="s"><parameter name="smtp.from">bergamot@example.com</parameter></bergamot>`)
	errs := DefaultChannels(nil).Validate(bad)
	if len(errs) == 0 || !strings.Contains(errs.Error(), "site parameters") {
		t.Fatalf("SMTP settings without a host must be reported on the site parameters, got %v", errs)
	}
	clear := resolveXML(t, `<bergamot site="s"><parameter name="webhook.secret">in-clear</parameter></bergamot>`)
	if errs := DefaultChannels(nil).Validate(clear); len(errs) == 0 || !strings.Contains(errs.Error(), "clear text") {
		t.Fatalf("a clear-text secret must be refused, got %v", errs)
	}
}
