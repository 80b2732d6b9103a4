package lattrace

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStamps: a Recorder records nothing until started; a benchmark
// output's stamp, alone or inside a message, gives the time since it was
// taken; other outputs are ignored.
func TestStamps(t *testing.T) {
	var r Recorder
	r.Stamp("early", "bench "+strconv.FormatInt(time.Now().UnixNano(), 10)+" 1")
	r.Start()
	defer r.Stop()
	r.Stamp("stage", "bench "+strconv.FormatInt(time.Now().Add(-50*time.Millisecond).UnixNano(), 10)+" 2")
	r.Stamp("stage", "disk 91% used")
	r.Stamp("stage", "bench soon 3")
	r.Stamp("written", `{"payload":{"data":{"checks":{"output":"bench `+strconv.FormatInt(time.Now().UnixNano(), 10)+` 4"}}},"id":"1","type":"next"}`)
	r.Add("step", 3*time.Millisecond)
	r.Stop()
	r.Add("late", time.Second)
	report := r.Report()
	lines := strings.Split(strings.TrimSpace(report), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "stage ") || !strings.HasPrefix(lines[1], "step ") || !strings.HasPrefix(lines[2], "written ") {
		t.Fatalf("report:\n%s", report)
	}
	if !strings.Contains(lines[0], "n=     1") || !strings.Contains(lines[1], "p50      3ms") || !strings.Contains(lines[2], "n=     1") {
		t.Errorf("report:\n%s", report)
	}
	f := strings.Fields(lines[0])
	got, err := time.ParseDuration(f[4])
	if err != nil || got < 50*time.Millisecond || got > 5*time.Second {
		t.Errorf("stage p50 %q, want about 50ms", f[4])
	}
}
