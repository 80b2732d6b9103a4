package hub

import (
	"context"

	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// script runs the command's <script> on the hub over what the agent read:
// `readings` is the reading's metrics (name, type, count, value, meanRate,
// oneMinuteRate, fiveMinuteRate, fifteenMinuteRate, min, max, mean, median,
// p95, p99; rates per second), `agentResult` the agent's own status and
// output. The script's published result is the check's. The agent never
// runs anything the server sends: the script runs here, in the sandbox of
// checks/script.
func (h *Hub) script(ctx context.Context, req *checks.Request, rd *wire.Reading) *checks.Result {
	h.scrOnce.Do(func() {
		if h.Script == nil {
			h.Script = script.New(script.Options{Logger: h.Logger})
		}
	})
	if rd.Result.Status != checks.StatusOK && rd.Metrics == nil {
		return rd.Result // the agent could not read: its reason stands
	}
	readings := make([]map[string]any, len(rd.Metrics))
	for i, m := range rd.Metrics {
		readings[i] = map[string]any{"name": m.Name, "type": m.Type, "count": m.Count, "value": m.Value,
			"meanRate": m.MeanRate, "oneMinuteRate": m.OneMinuteRate, "fiveMinuteRate": m.FiveMinuteRate,
			"fifteenMinuteRate": m.FifteenMinuteRate, "min": m.Min, "max": m.Max, "mean": m.Mean,
			"median": m.Median, "p95": m.P95, "p99": m.P99}
	}
	res, err := h.Script.Run(ctx, req, func(_ context.Context, run *script.Run) error {
		if err := run.VM.Set("readings", readings); err != nil {
			return err
		}
		return run.VM.Set("agentResult", map[string]any{"status": rd.Result.Status.String(), "output": rd.Result.Output})
	})
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: "the command's script: " + err.Error(), Started: rd.Result.Started}
	}
	res.Started, res.Runtime = rd.Result.Started, rd.Result.Runtime
	return res
}
