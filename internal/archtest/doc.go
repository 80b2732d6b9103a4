// Package archtest holds no code: its tests encode the direction rules of
// the architecture (docs/architecture.md) so that breaking one fails
// `make test`:
//
//   - monitor is pure: nothing it depends on, directly or not, talks to a
//     database (database/sql, pgx, River) or is an application layer
//     (store, tenants, jobs, live, graph, rest, server, notifiers);
//   - engines (checks/...), configuration (config/...) and notification
//     channels (notifiers, notifiers/<channel>) know nothing of the store,
//     the tenants, the pipeline or the queues;
//   - nothing imports cmd/...;
//   - only store, tenants and migrations hold SQL on tenant tables (a
//     heuristic over string literals, see TestTenantSQLLivesInStore), with
//     a list of today's exceptions that the owners-per-table work shrinks.
package archtest
