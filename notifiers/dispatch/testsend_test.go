package dispatch

import (
	"fmt"
	"strings"
	"testing"
)

// SendTest delivers a test message through a contact's channel and says
// clearly when the contact cannot be reached that way.
func TestSendTestNotification(t *testing.T) {
	hook, hooks := webhookReceiver(t)
	r := newRig(t, fmt.Sprintf(`<bergamot site="acme">
	<credential name="hook-secret"><password>%s</password></credential>
	<contact name="dave">
		<parameter name="webhook.url">%s/bergamot</parameter>
		<parameter name="webhook.secret">credential:hook-secret</parameter>
	</contact>
	<contact name="erin"><email>erin@acme.example</email></contact>
	</bergamot>`, hookSecret, hook.URL), nil)
	if err := r.d.SendTest(r.ctx(), "dave", "webhook"); err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "test webhook", 1, "test ")
	if got, refused := hooks.snapshot(); len(got) != 1 || len(refused) != 0 {
		t.Fatalf("webhook received %v (refused %v), want one test notification", got, refused)
	}
	err := r.d.SendTest(r.ctx(), "erin", "webhook")
	if err == nil || !strings.Contains(err.Error(), `contact "erin" cannot be reached by webhook`) {
		t.Fatalf("unreachable contact: %v", err)
	}
	if err := r.d.SendTest(r.ctx(), "nobody", "email"); err == nil || !strings.Contains(err.Error(), `no contact named "nobody"`) {
		t.Fatalf("unknown contact: %v", err)
	}
	rows := r.logRows()
	found := false
	for _, l := range rows {
		found = found || strings.Contains(l, "dave") && strings.Contains(l, "webhook") && strings.Contains(l, "test")
	}
	if !found {
		t.Fatalf("the test delivery is not in the log: %v", rows)
	}
}
