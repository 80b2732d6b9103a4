// Package monitor is Bergamot's check state machine as pure logic: no
// database, no clock, no I/O. The result processor loads a check's State,
// calls Apply with the new result (and the facts it looked up: dependency
// state, downtime, suppression) and the check's Settings, then writes the
// returned State, a history row per EventStateChanged, the alert changes
// and one notification job per Event with Notify set, in one transaction.
//
// What it implements:
//   - attempts and soft/hard transitions with failed-after / recovers-after
//     (Bergamot counts transitions between ok and not-ok; a change of
//     problem status while hard is immediate);
//   - Nagios's weighted 21-result flap detection (FlapPercent);
//   - dependencies: no hard state while a dependency is changing, and no
//     alert of its own while a dependency is down (Encompassed);
//   - suppression, downtime and acknowledgements (normal and sticky);
//   - the check's alert (open, got worse / changed, reminders, recovery),
//     the decision to notify for each event and why not (Event.Quiet);
//   - escalation levels (DueEscalations, Escalate).
//
// Operator actions between results are separate functions: Acknowledge,
// Unacknowledge, StartDowntime, EndDowntime, Escalate.
package monitor
