// Package nagios is the "nagios" check engine: it runs a Nagios/Monitoring
// Plugins plugin and turns its exit code and output into a checks.Result.
//
// The command line comes from Request.CommandLine or the command_line
// parameter. $USER1$ and bare plugin names ("check_dummy 0 hi") refer to the
// plugin directory (Options.PluginDir, $BERGAMOT_PLUGIN_DIR or
// /usr/lib/nagios/plugins). Simple command lines are split (respecting
// quotes) and executed directly; ones that need a shell (pipes, redirection,
// variables, globs...) run under /bin/sh -c. The plugin runs in its own
// process group, which is killed at the deadline (TIMEOUT). Stdout is
// parsed as Nagios does (status text, long output, perfdata) and capped at
// Options.OutputCap; stderr (capped at a quarter of that) follows the long
// output, or stands in for an empty stdout as "(No output on stdout) stderr:".
// A cut is reported at the end of the long output. Exit codes 0-3 map to OK, WARNING, CRITICAL, UNKNOWN;
// anything else is an ERROR that says why, or with the parameter
// exit_out_of_bounds=critical (imported Nagios commands) CRITICAL with
// nagios4's "(Return code of N ...)" text.
//
// Under the hosted execution policy (Request.Policy) only plugins from the
// operator's allow-list run, always as an argv: shell syntax, "..", files of
// the worker, a site-set plugin directory, refused host options and the
// operator's per-plugin argument rules (ParseArgRules) are refused
// (policy.go). When the worker is root, plugins run confined on any zone:
// as nobody, with a clean environment, a scratch directory and rlimits, and
// BERGAMOT_DATA closed to them (confine.go).
package nagios
