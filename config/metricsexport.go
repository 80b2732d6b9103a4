package config

import (
	"net/url"
	"strconv"
	"strings"
)

// Metrics export protocols a <metrics-export> accepts.
const (
	ExportRemoteWrite = "prometheus-remote-write"
	ExportOTLP        = "otlp"
)

// Limits and defaults of a <metrics-export>'s batch and buffer, in points.
const (
	DefaultExportBatch  = 500
	MaxExportBatch      = 10000
	DefaultExportBuffer = 100000
	MaxExportBuffer     = 1000000
)

// ExportProtocols are the protocols a <metrics-export> accepts.
var ExportProtocols = []string{ExportRemoteWrite, ExportOTLP}

// MetricsExport is a target the site's performance data is shipped to,
// written <metrics-export name="grafana" protocol="prometheus-remote-write"
// url="https://..." auth="bearer" credential="grafana-token"/> at the top
// level of the configuration (docs/metrics-export.md).
type MetricsExport struct {
	Name     string
	Summary  string
	Protocol string // ExportRemoteWrite or ExportOTLP
	// URL is the full endpoint (a remote write receiver's
	// /api/v1/write, an OTLP/HTTP receiver's /v1/metrics).
	URL string
	// Auth is "none", "bearer" (the credential's password is the token) or
	// "basic" (its username and password).
	Auth       string
	Credential string
	// Batch is the most points one request carries; Buffer the most
	// points kept waiting while the receiver is unreachable (the oldest
	// beyond it are dropped and counted).
	Batch, Buffer int
	Enabled       bool
	// OwnSeries: the target also receives the site's own Bergamot
	// series (own-series, default yes).
	OwnSeries bool
	Source    Source
}

// metricsExport reads one <metrics-export>; errors go to the sink naming
// the attribute that is wrong.
func (r *resolver) metricsExport(n *Node, label string) *MetricsExport {
	e := &MetricsExport{Name: n.AttrValue("name"), Summary: text(n, "summary"), Protocol: n.AttrValue("protocol"),
		URL: strings.TrimSpace(n.AttrValue("url")), Auth: n.AttrValue("auth"), Credential: n.AttrValue("credential"),
		Enabled: boolAttr(n, "enabled", true), OwnSeries: boolAttr(n, "own-series", true), Source: src(n)}
	if !contains(ExportProtocols, e.Protocol) {
		r.sink.add(n, label, "protocol %q: want %s", e.Protocol, strings.Join(ExportProtocols, " or "))
	}
	if u, err := url.Parse(e.URL); e.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.sink.add(n, label, "url %q: want an http:// or https:// URL of the receiver (such as https://prometheus.example/api/v1/write)", e.URL)
	} else if u.User != nil {
		r.sink.add(n, label, "url %s: put the user name and password in a credential (auth=\"basic\"), not in the URL", u.Redacted())
	}
	if e.Auth == "" {
		e.Auth = "none"
	}
	switch e.Auth {
	case "none":
		if e.Credential != "" {
			r.sink.add(n, label, "credential %q is set but auth is none: say auth=\"bearer\" or auth=\"basic\"", e.Credential)
		}
	case "bearer", "basic":
		if e.Credential == "" {
			r.sink.add(n, label, "auth %q needs a credential attribute naming the <credential> that holds the secret", e.Auth)
		} else if c := r.model.Credentials[e.Credential]; c == nil {
			r.checkRef(n, label, "credential", e.Credential)
		} else if c.Password == "" || (e.Auth == "basic" && c.Username == "") {
			want := "a <password> (the token)"
			if e.Auth == "basic" {
				want = "a <username> and a <password>"
			}
			r.sink.add(n, label, "credential %q: auth %q needs %s in it", e.Credential, e.Auth, want)
		}
	default:
		r.sink.add(n, label, "auth %q: want none, bearer or basic", e.Auth)
	}
	e.Batch = r.intAttr(n, label, "batch", DefaultExportBatch, 1, MaxExportBatch)
	e.Buffer = r.intAttr(n, label, "buffer", DefaultExportBuffer, 1, MaxExportBuffer)
	if e.Buffer < e.Batch {
		r.sink.add(n, label, "buffer %d is smaller than batch %d: the buffer must hold at least one batch", e.Buffer, e.Batch)
	}
	return e
}

// intAttr reads an integer attribute within [lo, hi], def when absent.
func (r *resolver) intAttr(n *Node, label, name string, def, lo, hi int) int {
	v, ok := n.Attr(name)
	if !ok {
		return def
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i < lo || i > hi {
		r.sink.add(n, label, "%s %q: want a whole number from %d to %d", name, v, lo, hi)
		return def
	}
	return i
}
