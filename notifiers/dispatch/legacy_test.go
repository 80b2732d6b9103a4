package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/store"
)

// TestOldDeliveryPayloadDelivers: a delivery queued by a version from
// before the channel registry (its recipient stored with the fields
// Email, Phone and IRCNick) is still sent, to the address it holds,
// after an upgrade.
func TestOldDeliveryPayloadDelivers(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, webHost), withExim(ex))
	disk := r.checkID("service", "disk")
	n, err := json.Marshal(notifiers.Notification{Type: notifiers.TypeAlert, Site: "acme", Status: checks.StatusCritical,
		Check: notifiers.Check{ID: disk, Kind: "service", Name: "disk", Host: "web1"}, Output: "DISK CRITICAL - stored before the upgrade",
		Time: time.Now(), AlertID: disk, IdempotencyKey: "old-payload-1"})
	must(t, err)
	// The "to" object exactly as the old notifiers.Recipient encoded it.
	payload := fmt.Sprintf(`{"n":%s,"to":{"ID":"alice","Name":"Alice","Email":"archive@bergamot.test","Phone":"","IRCNick":"","TimeZone":""}}`, n)
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := store.InsertDelivery(ctx, tx, r.site, store.Delivery{Key: "old-payload-1", Kind: string(notifiers.TypeAlert),
			Recipient: "alice", Channel: "email", Payload: []byte(payload)}); err != nil {
			return err
		}
		_, err := r.ins.InsertTx(ctx, tx, DeliverArgs{Site: r.site, Key: "old-payload-1"}, &river.InsertOpts{Queue: Queue, MaxAttempts: 3})
		return err
	})
	got := ex.WaitMessages(t, 1, 20*time.Second, to("archive@bergamot.test", "[acme] Problem: disk on web1 is CRITICAL"))
	if len(got) != 1 {
		t.Fatalf("%d messages to the stored address", len(got))
	}
	r.idle()
	if log := r.logRows(); len(log) != 1 || log[0] != "alice email alert sent" {
		t.Errorf("delivery log: %q", log)
	}
}
