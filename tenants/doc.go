// Package tenants holds sites (tenants), users, memberships and roles,
// authentication (passwords, sessions, API tokens), signup, and the one way
// into tenant data: Store.InSite, which opens a transaction with the site set
// for PostgreSQL row-level security.
package tenants
