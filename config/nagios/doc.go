// Package nagios imports an existing Nagios object configuration into a
// Bergamot site configuration.
//
// The import runs in four stages, each usable on its own:
//
//  1. [ParseFile] / [ParseObjects] read Nagios object files into raw
//     [Object]s that remember the file and line of every directive, and
//     [ParseMainConfig] reads cfg_file, cfg_dir, resource_file and
//     interval_length from a main nagios.cfg.
//  2. [Resolve] applies Nagios template inheritance (use a,b,c with the
//     leftmost template winning, name, register 0, null, +value, custom
//     variables) and memberships from both sides, with '*' and '!'
//     patterns, exactly as nagios4 does, yielding a [Config].
//  3. [Resolve] also validates like nagios4 (unknown templates, missing
//     max_check_attempts, bad time ranges, dangling references); every
//     problem names its file and line.
//  4. [Convert] turns a [Config] into one Bergamot XML document; [Import]
//     runs all stages. Host parents and host/service dependencies become
//     <depends>, escalations <escalate> levels (after = time until the
//     Nagios notification number), extinfo parameters. Lists nagios4
//     replaces under `use` (contact_groups, contacts, hostgroups,
//     servicegroups) get "-x" removals so that Bergamot's additive set
//     inheritance resolves to the same members, and a time period that
//     redefines a day is written without extends. Directives that
//     Bergamot cannot represent, or only approximately, are reported as
//     [Warning]s, once per kind, never dropped silently.
//
// The package's tests compare nagios4's own resolved objects (nagios4
// -vp, run by the test) with the model config.Resolve builds from the
// imported XML, for every real configuration in the shared fixtures.
package nagios
