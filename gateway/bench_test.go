package gateway_test

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bergamot-monitoring/bergamot/gateway/wire"
)

// BenchmarkIdleConnections holds 1,000 idle remote-worker connections on one
// node and reports the memory and goroutines each costs. Both ends live in
// this process, so the figure is an upper bound for the node's share.
func BenchmarkIdleConnections(b *testing.B) {
	const n = 1000
	r := newRig(b, map[string]string{"a": siteXML(svc("ok", plugins+"/check_dummy 0"))})
	k, _ := r.key("a", "edge")
	hello, _ := wire.Encode(&wire.Message{Type: wire.TypeHello, Hello: &wire.Hello{Name: "idle", Version: "bench", Engines: []string{"nagios"}, Concurrency: 1}})
	dialer := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024}
	measure := func() (uint64, int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
	}
	for b.Loop() {
		mem0, g0 := measure()
		conns := make([]*websocket.Conn, 0, n)
		for range n {
			c, _, err := dialer.Dial(r.url, http.Header{"Authorization": {"Bearer " + *k.Key}})
			if err != nil {
				b.Fatal(err)
			}
			if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
				b.Fatal(err)
			}
			_, msg, err := c.ReadMessage()
			if err != nil || !strings.Contains(string(msg), `"welcome"`) {
				b.Fatalf("welcome: %s %v", msg, err)
			}
			conns = append(conns, c)
		}
		time.Sleep(time.Second)
		mem1, g1 := measure()
		b.ReportMetric(float64(mem1-mem0)/n, "bytes/conn")
		b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
		for _, c := range conns {
			_ = c.Close()
		}
	}
}
