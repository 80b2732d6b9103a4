// Package jobs is Bergamot's check pipeline on River and PostgreSQL:
//
//   - Scheduler (every serve node, no leader) claims due checks from
//     check_schedule with FOR UPDATE SKIP LOCKED, inserts their River jobs
//     into the zone's queue and moves next_run on, in one transaction.
//   - ExecuteWorker (bergamot worker) runs a check through the engine
//     registry and hands the result back through result_inbox, completing
//     its job in the same transaction.
//   - Processor (every serve node) claims results in batches, runs the state
//     machine, writes state (through store.StateWrites), history, metrics
//     and alerts in one transaction, and announces the change
//     (store.QueueAnnounce).
//   - DowntimeSweep and EscalationSweep (every serve node) change check
//     state between results: downtimes that start or end, escalation levels
//     that fall due. They save it with store.SaveState and hand their events
//     to the same sinks as the Processor (ProcessedCheck, an alias of
//     monitor.ProcessedCheck).
//   - Watchdog turns jobs no worker started in time into TIMEOUT results.
package jobs
