// Package script is the "script" check engine: Bergamot command <script>
// blocks written in JavaScript, run with goja, with Bergamot's own script API
// (check, bergamot, http, jdbc) so Bergamot's scripted templates run
// unchanged. Other engines reuse it for their "script" executors through
// Engine.Run and an Extension that adds their own globals (the snmp engine's
// "agent").
//
// Sandbox: a script sees only the ECMAScript built-ins and the API above; no
// filesystem, process or network access except through http and jdbc, whose
// dialer refuses link-local (169.254.0.0/16, fe80::/10) and cloud metadata
// addresses. Every run gets a fresh VM; compiled programs are cached by the
// SHA-256 of the script text. The VM is interrupted at the check's deadline
// (TIMEOUT result). Memory is bounded three ways: host calls cap what they
// hand to the script (HTTP bodies, SQL rows), the call stack is capped, and a
// watchdog samples the Go runtime's live heap (runtime/metrics
// /gc/heap/live:bytes) every few milliseconds and interrupts the run when
// the heap has grown by more than Options.MaxHeapGrowth since the run began.
// The heap figure is process-wide, so the limit is a coarse guard against a
// runaway script, not an exact per-script quota.
package script
