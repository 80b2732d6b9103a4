// Package store is Bergamot's SQL: applying configuration to a site
// (config_objects and the resolved model tables), checks and their state,
// history, alerts, downtimes and metrics. Every method runs inside a site
// transaction opened by tenants.InSite, so row-level security confines it.
//
// One place each:
//   - check state (check_state): state.go, its only writer: StateWrites
//     for the result processor, SaveState for acknowledgements, downtimes,
//     suppression and escalations, the rows config apply creates, and
//     Announce, the live-update NOTIFY (payload: package live/wire);
//   - credentials: credentials.go opens the sealed copies (Sealer);
//   - time periods: timeperiods.go (TimePeriods) reads them back;
//   - the schedule: schedule.go, the scheduler's claim (ClaimDue);
//   - the worker gateway's tables (shared_zones, shared_zone_keys,
//     worker_keys, worker_connections, remote workers' rows in workers):
//     gateway.go, for gateway.Store and gateway.Hub.
//
// Outside store, only tenants (sites, users, sessions, tokens) and the
// migrations hold SQL on tenant tables; internal/archtest fails otherwise.
package store
