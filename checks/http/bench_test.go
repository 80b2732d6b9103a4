package http_test

import (
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	bhttp "github.com/bergamot-monitoring/bergamot/checks/http"
)

// BenchmarkHTTP runs full checks (status, contains, perfdata) against a
// local server; it reports checks/s and CPU (client and server) per 1,000.
func BenchmarkHTTP(b *testing.B) {
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	h, port, _ := splitURL(srv.URL)
	e := bhttp.New(bhttp.Options{MaxIdleConnsPerHost: 64})
	defer e.Close()
	params := map[string]string{"host": h, "port": port, "status": "200", "contains": "hello",
		"warning_response_time": "1000", "critical_response_time": "2500"}
	start, cpu0 := time.Now(), cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.Execute(b.Context(), &checks.Request{Parameters: params})
			if err != nil || res.Status != checks.StatusOK {
				b.Errorf("%v %v", err, res.Output)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(b.N), "cpu-ms/1000checks")
}

func splitURL(u string) (string, string, error) {
	h, p := "", ""
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == ':' {
			h, p = u[len("http://"):i], u[i+1:]
			break
		}
	}
	return h, p, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
