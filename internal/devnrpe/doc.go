// Package devnrpe runs a private NRPE daemon (Debian's nagios-nrpe-server
// binary, /usr/sbin/nrpe) for `bergamot run`'s demo site, the way
// internal/devdb runs a private PostgreSQL: its configuration, log and pid
// file live in one directory, it listens on 127.0.0.1 only, runs in the
// foreground as a child of Bergamot and stops with it. The commands it
// offers are the ones the stock `linux-server-nrpe` template asks for,
// backed by the real monitoring-plugins (and a small check_mem script).
package devnrpe
