// Package migrations holds Bergamot's SQL schema migrations, embedded in the
// binary and applied with golang-migrate by `bergamot migrate` and at the
// start of `run` and `serve`.
package migrations

import "embed"

// FS holds the numbered *.up.sql / *.down.sql files.
//
//go:embed *.sql
var FS embed.FS
