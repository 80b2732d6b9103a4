// Package store is Bergamot's SQL: applying configuration to a site
// (config_objects and the resolved model tables), checks and their state,
// history, alerts, downtimes and metrics. Every method runs inside a site
// transaction opened by tenants.InSite, so row-level security confines it.
package store
