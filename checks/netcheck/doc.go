// Package netcheck holds what the native network check engines (http, tcp,
// udp, dns, icmp) share: Nagios threshold ranges, target address resolution
// from a check's parameters, human-readable network error text, TLS client
// configuration and certificate expiry evaluation, and perfdata helpers.
package netcheck
