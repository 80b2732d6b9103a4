// Package stockset holds the whole-base-set test: Bergamot's stock
// template set applied to a real site, and every stock command of the
// engines ssh, sftp, jdbc, jmx and internal run through the real pipeline
// against real peers (sshd, PostgreSQL, a Jolokia JVM, the installation's
// own registrations). It has no code of its own.
package stockset
