package graph_test

import (
	"context"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The delivery log is readable through the API, per site only.
func TestNotificationLog(t *testing.T) {
	e, a, b, aIDs, _ := twoSites(t, apitest.Options{})
	write := func(site string, check, result, msg string) {
		t.Helper()
		id := uuid.MustParse(site)
		err := tenants.InSite(tenants.WithSite(context.Background(), id), e.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO notification_log (site_id, check_id, kind, recipient, channel, idempotency, result, error)
				VALUES ($1, NULLIF($2, '')::uuid, 'alert', 'dave', 'email', gen_random_uuid()::text, $3, $4)`, id, check, result, msg)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(a.ID, aIDs["web1/http"], "sent", "")
	write(a.ID, aIDs["web1/http"], "failed", "535 authentication failed")
	write(b.ID, "", "sent", "")
	var out struct {
		NotificationLog []struct {
			Recipient, Channel, Result string
			Error                      *string
		}
	}
	e.MustDo(t, a.Token, `{ notificationLog { recipient channel result error } }`, nil, &out)
	if len(out.NotificationLog) != 2 {
		t.Fatalf("alpha sees %d attempts, want its own 2: %+v", len(out.NotificationLog), out)
	}
	e.MustDo(t, a.Token, `{ notificationLog(failed: true) { recipient channel result error } }`, nil, &out)
	if len(out.NotificationLog) != 1 || out.NotificationLog[0].Error == nil || *out.NotificationLog[0].Error != "535 authentication failed" {
		t.Fatalf("failed attempts: %+v", out)
	}
	e.MustDo(t, b.Token, `{ notificationLog { result } }`, nil, &out)
	if len(out.NotificationLog) != 1 {
		t.Fatalf("bravo sees %d attempts, want its own 1", len(out.NotificationLog))
	}
}
