package lattrace

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStamps: probes record nothing until started; a benchmark output's
// stamp gives the time since it was taken; other outputs are ignored.
func TestStamps(t *testing.T) {
	Stamp("early", "bench "+strconv.FormatInt(time.Now().UnixNano(), 10)+" 1")
	Start()
	defer Stop()
	Stamp("stage", "bench "+strconv.FormatInt(time.Now().Add(-50*time.Millisecond).UnixNano(), 10)+" 2")
	Stamp("stage", "disk 91% used")
	Stamp("stage", "bench soon 3")
	Add("step", 3*time.Millisecond)
	Stop()
	Add("late", time.Second)
	r := Report()
	lines := strings.Split(strings.TrimSpace(r), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "stage ") || !strings.HasPrefix(lines[1], "step ") {
		t.Fatalf("report:\n%s", r)
	}
	if !strings.Contains(lines[0], "n=     1") || !strings.Contains(lines[1], "p50      3ms") {
		t.Errorf("report:\n%s", r)
	}
	f := strings.Fields(lines[0])
	got, err := time.ParseDuration(f[4])
	if err != nil || got < 50*time.Millisecond || got > 5*time.Second {
		t.Errorf("stage p50 %q, want about 50ms", f[4])
	}
}
