// Package ssh holds the "ssh" and "sftp" check engines: a command or Nagios
// plugin run on a remote host over SSH with check_by_ssh semantics (the
// remote exit code and output are the plugin's), SFTP file checks (exists,
// age, size), and the `ssh` / `sftp` objects of script checks.
//
// Authentication comes from the check's parameters, which the stock
// commands fill from the site's credentials (resolve_credentials('ssh')):
// username, private_key (PEM, with private_key_passphrase when encrypted)
// and/or password.
//
// Host keys are trusted on first use, per site: the first key a server at
// "host:port" presents is recorded through Options.KnownHosts (the
// ssh_host_keys table in production); a later different key makes the check
// CRITICAL with a message naming both fingerprints, until the record is
// forgotten.
//
// Connections are reused per site, user, address and credentials: each check
// opens its own session on a shared client, at most Options.MaxSessions at
// a time, and a client idle for Options.IdleTimeout is closed. Every network
// dial goes through Options.Dial, so an outbound address policy can be
// injected.
package ssh
