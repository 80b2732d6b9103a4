package gateway_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDirectWorkerRunsAsWorkerRole: a direct worker (bergamot worker with
// DATABASE_URL) runs its connections as bergamot_worker, the restricted role
// of migration 000028; with only that role's rights it registers, claims
// its zone, leases from River, reads the check and hands the result back:
// the site's check in the shared zone reaches its hard state, and the zone
// lists the worker with its engines.
func TestDirectWorkerRunsAsWorkerRole(t *testing.T) {
	xml := strings.Replace(siteXML(svc("ok", plugins+"/check_dummy 0 direct")), ` worker-pool="edge"`, ` worker-pool="dc-direct"`, 1)
	r := newRig(t, map[string]string{"a": xml})
	cmd := exec.Command(bergamotBinary(t), "--log-format", "json", "worker", "--zone", "dc-direct", "--concurrency", "5")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+r.db.OwnerURL, "BERGAMOT_DATA="+t.TempDir(), "BERGAMOT_PLUGIN_USER=-",
		"BERGAMOT_EXEC_POLICY=trusted")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r.waitFor("the check OK from the direct worker", 90*time.Second, func() bool {
		s := r.state("a", "ok")
		return s.Status == "OK" && s.Hard && s.Output == "OK: direct"
	})
	zones, err := r.st.Zones(r.siteCtx("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range zones {
		if z.Name == "dc-direct" {
			if !z.Shared || len(z.Workers) != 1 || len(z.Workers[0].Engines) == 0 || z.Workers[0].Node != "" {
				t.Fatalf("zone dc-direct: %+v %+v; want a shared zone with the direct worker", z, z.Workers)
			}
			return
		}
	}
	t.Fatalf("zones %+v lack dc-direct", zones)
}
