// Package dummy is the "dummy" check engine, for tests and demos: it runs
// nothing and returns statuses chosen by its executors, which follow
// Bergamot's own dummy commands (generic_dummy_commands.xml):
//
//   - static (also the default): parameter status (OK, WARNING, ...), or ok
//     (yes/no) when status is absent; output; optional raw perfdata.
//   - random: warning (default 0.97) and critical (default 0.99) are
//     thresholds for a uniform random number in [0,1).
//   - timed: warning and critical are lists of times of day
//     ("01:00-02:00, 05:00-06:00") in which the check is in that state.
//   - cycle and flapping: steps through statuses (comma list; default
//     "OK,WARNING,CRITICAL" for cycle, "OK,CRITICAL" for flapping), one per
//     period (a Go duration, default 1m for cycle, 30s for flapping), offset
//     by the check id so that demo checks do not all change together.
//
// Every executor takes an output parameter; the script executor belongs to
// the scripting engine and is refused here with an explanation.
package dummy
