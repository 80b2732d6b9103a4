package nrpe

import (
	"context"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// BenchmarkCheck measures sequential checks per second against the local
// Debian daemon for each transport (each check is a new connection, as with
// check_nrpe).
func BenchmarkCheck(b *testing.B) {
	for _, c := range []struct {
		mode      daemonMode
		transport string
	}{{modeADH, "adh"}, {modeCert, "tls"}, {modePlain, "plain"}} {
		b.Run(c.transport, func(b *testing.B) {
			d := startDaemon(b, c.mode)
			e := New(Options{})
			defer e.Close()
			req := &checks.Request{Parameters: map[string]string{"host": "127.0.0.1", "port": itoa(d.port), "command": VersionCommand, "transport": c.transport}}
			b.ResetTimer()
			for b.Loop() {
				res, err := e.Execute(context.Background(), req)
				if err != nil || res.Status != checks.StatusOK {
					b.Fatalf("%v %v", res, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}
