package http

import (
	"context"
	"fmt"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// checkScript runs the command's <script> (executor "script", Bergamot's
// http-script-check) on the script engine. The script has the standard API
// (check, bergamot, http, jdbc); its https requests trust the check's
// ca_file, present client_cert/client_key, and skip verification when
// permit_invalid_certs is set. The run ends at ctx's deadline (or the
// check's timeout) with TIMEOUT.
func (e *Engine) checkScript(ctx context.Context, req *checks.Request) *checks.Result {
	settings := netcheck.TLSSettingsFrom(req, "")
	cfg, err := settings.Config()
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: "HTTP script check misconfigured: " + err.Error()}
	}
	res, err := e.opts.Script.Run(ctx, req, func(_ context.Context, run *script.Run) error {
		run.SetHTTPTLSConfig(cfg)
		return nil
	})
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("HTTP script check failed to run: %v", err)}
	}
	return res
}
