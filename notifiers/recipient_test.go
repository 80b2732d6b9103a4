package notifiers

import (
	"encoding/json"
	"testing"
)

// oldRecipient is Recipient as versions before the channel registry
// declared it (and stored it in delivery payloads): one field per address.
type oldRecipient struct {
	ID       string
	Name     string
	Email    string
	Phone    string
	IRCNick  string
	TimeZone string
}

// TestRecipientReadsTheOldShape: a delivery payload queued by an older
// version keeps its addresses: email, phone and IRC nick come back as the
// email, sms and irc channels' addresses.
func TestRecipientReadsTheOldShape(t *testing.T) {
	stored := `{"ID":"alice","Name":"Alice Liddell","Email":"alice@example.com","Phone":"+447700900123","IRCNick":"al","TimeZone":"Europe/London"}`
	var to Recipient
	if err := json.Unmarshal([]byte(stored), &to); err != nil {
		t.Fatal(err)
	}
	if to.ID != "alice" || to.Name != "Alice Liddell" || to.TimeZone != "Europe/London" ||
		to.Address("email") != "alice@example.com" || to.Address("sms") != "+447700900123" || to.Address("irc") != "al" {
		t.Errorf("old payload decoded as %+v", to)
	}
	// Empty old fields make no addresses.
	if err := json.Unmarshal([]byte(`{"ID":"bob","Name":"Bob","Email":"","Phone":"","IRCNick":"","TimeZone":""}`), &to); err != nil {
		t.Fatal(err)
	}
	if len(to.Addresses) != 0 || to.Name != "Bob" {
		t.Errorf("old payload without addresses decoded as %+v", to)
	}
}

// TestRecipientOlderVersionsReadTheNewShape: during an upgrade an older
// notifier may deliver what a newer node queued; it still finds the email,
// phone and nick, and a newer node reads its own shape back whole, a new
// channel's address included.
func TestRecipientOlderVersionsReadTheNewShape(t *testing.T) {
	to := Recipient{ID: "alice", Name: "Alice", TimeZone: "UTC",
		Addresses: map[string]string{"email": "alice@example.com", "sms": "+447700900123", "irc": "al", "pager-duty": "P123"}}
	b, err := json.Marshal(to)
	if err != nil {
		t.Fatal(err)
	}
	var old oldRecipient
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old != (oldRecipient{ID: "alice", Name: "Alice", Email: "alice@example.com", Phone: "+447700900123", IRCNick: "al", TimeZone: "UTC"}) {
		t.Errorf("an older version reads %s as %+v", b, old)
	}
	var back Recipient
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Addresses) != 4 || back.Address("pager-duty") != "P123" || back.Address("email") != "alice@example.com" || back.Name != "Alice" {
		t.Errorf("round trip of %s gave %+v", b, back)
	}
}
