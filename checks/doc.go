// Package checks defines what a check engine is (Engine), what it is given
// (Request) and what it returns (Result), the engine Registry, Bergamot's
// statuses, and the Nagios plugin output and performance-data parsers.
// Each engine lives in its own sub-package and registers itself with one
// line in cmd/bergamot.
package checks
