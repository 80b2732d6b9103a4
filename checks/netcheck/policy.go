package netcheck

import (
	"context"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// TLSFileParams are the parameters that name TLS files on the worker; the
// hosted policy refuses them (a shared worker's files are the operator's).
var TLSFileParams = []string{"ca_file", "client_cert", "client_key"}

// CheckPolicy is the hosted-policy check shared by the native network
// engines: the target host (the "host" parameter, else the check's host
// address), and any extra host parameters named, must not be a literal
// address or name the network policy refuses, and no parameter may name a
// TLS file of the worker. Names are judged when dialled.
func CheckPolicy(_ context.Context, p *checks.Policy, req *checks.Request, hostParams ...string) error {
	if !p.Hosted() {
		return nil
	}
	if err := checks.CheckWorkerFiles(p, req, TLSFileParams...); err != nil {
		return err
	}
	return checks.CheckHostParams(p, req, hostParams...)
}
