// Package checks defines what a check engine is (Engine), what it is given
// (Request) and what it returns (Result), the engine Registry, Bergamot's
// statuses, and the Nagios plugin output and performance-data parsers.
// Each engine lives in its own sub-package and registers itself with one
// line in cmd/bergamot.
//
// Policy is the execution policy (trusted or hosted, docs/exec-policy.md):
// the registry stamps it on each Request for the check's zone and, under
// hosted, asks the engine (PolicyChecker) before running; engines that dial
// out do so through Request.Policy.Network(), which checks every resolved
// address. Configuration validation asks the same PolicyChecker at apply
// time.
package checks
