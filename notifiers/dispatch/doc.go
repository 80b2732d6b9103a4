// Package dispatch is Bergamot's notification pipeline: it turns the state
// machine's events into messages on the channels of package notifiers.
//
//   - Sink (an event sink of the result processor and of the downtime and
//     escalation sweeps; it takes a monitor.ProcessedCheck) runs inside the
//     result-processing transaction and inserts one River NotifyArgs job per event that
//     notifies (monitor.Event.Notify), so an event is queued exactly when
//     its state change commits.
//   - The notifier role (Dispatcher.Run) works the "notifications" queue.
//     NotifyWorker fans an event out: it resolves the recipients (the
//     check's contacts and its teams' members, or an escalation level's),
//     filters them by the check's and each contact's <notifications>
//     settings and time periods, and records one delivery per recipient
//     and channel in notification_deliveries, keyed by an idempotency key
//     (primary key: a second enqueue is a no-op), each with a DeliverArgs
//     job, all in the job's own transaction.
//   - DeliverWorker sends one delivery. A per-site, per-recipient,
//     per-channel rate limit turns the excess of a storm into one digest
//     ("and 37 more problems", DigestWorker) instead of a flood. Every
//     attempt is written to notification_log; transient failures are
//     retried by River with notifiers.Backoff, permanent ones are not.
//   - Sweeper (inside Run) notifies acknowledgements made through the API
//     and re-queues stranded digests. Due escalations are raised by the
//     serve nodes' jobs.EscalationSweep and reach Sink as events.
//   - AckHandler serves the signed, single-use, expiring acknowledgement
//     links put into notifications (GET shows a confirmation page, POST
//     acknowledges).
//
// Channels are configured per site by site parameters and per contact by
// contact parameters (see notifiers.Channel and docs/notifications.md);
// secrets are referenced as credential:NAME and read from sealed
// credentials. The channels are those registered with
// notifiers.RegisterChannel; builtin.go imports this binary's.
package dispatch
