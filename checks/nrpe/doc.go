// Package nrpe is Bergamot's "nrpe" check engine: it queries NRPE daemons
// (Nagios Remote Plugin Executor) natively, without forking check_nrpe.
//
// It speaks packet versions 2 and 4 (and decodes 3), sends v4 first and
// falls back to v2 when the daemon hangs up, as check_nrpe does, and joins
// multi-packet answers. Three transports reach the daemons people run:
// plain TCP (nrpe -n), TLS with certificates (crypto/tls, optional client
// certificate and verification), and the anonymous-DH TLS that Debian's
// default daemon insists on, which crypto/tls cannot do: that one goes
// through OpenSSL with cgo (adh_cgo.go), driven through memory BIOs so every
// wait happens in Go's netpoller and context deadlines hold. Auto mode tries
// TLS, then anonymous DH, then plain, and remembers per host:port what
// worked.
//
// Files: packet.go (wire format), client.go (transports and the exchange),
// adh_cgo.go / adh_nocgo.go (OpenSSL), engine.go (parameters and results).
package nrpe
