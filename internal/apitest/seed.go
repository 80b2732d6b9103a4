package apitest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Exec runs one SQL statement as the database owner (no row-level
// security), for seeding rows the API cannot create directly: alerts at
// chosen times, delivery log entries.
func (e *Env) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("seeding: %v\n%s", err, sql)
	}
}
