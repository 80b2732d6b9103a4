// Package http is the native "http" check engine. Executor "" (or "http")
// makes an HTTP or HTTPS request and checks the status code, body, JSON
// value, response time and, when asked, certificate expiry; executor
// "certificate" checks only the TLS certificate a server presents; executor
// "script" runs the command's JavaScript <script> with Bergamot's HTTP
// script API (http.check()...execute(onResponse, onError)) on the script
// engine (Options.Script), Bergamot's http-script-check.
//
// Parameters follow Bergamot's command templates (generic_http_commands.xml):
// host, port, virtual_host, ssl, permit_invalid_certs, version, method,
// path, status, warning_response_time, critical_response_time, length,
// contains, expires_in; and in addition url, headers, body, content_type,
// regex, json_path, json_value, follow_redirects, max_redirects, proxy,
// username, password, ca_file, client_cert, client_key, critical_expires_in.
//
// Transports are pooled per TLS setting (server name, trust, client
// certificate, proxy, HTTP version) and bounded in number, so checks reuse
// connections without ever sharing one across different TLS identities.
package http
