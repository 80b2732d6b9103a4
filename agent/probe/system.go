package probe

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// presence: the agent answers, so it is connected (the hub reports
// DISCONNECTED itself when it is not).
func presence(_ context.Context, r *Run) (*checks.Result, error) {
	return &checks.Result{Status: checks.StatusOK, Output: fmt.Sprintf("Bergamot agent on %s is connected (up %s)",
		r.Agent.Host, time.Since(r.Agent.Started).Round(time.Second))}, nil
}

// agentInfo: the agent's version and runtime.
func agentInfo(_ context.Context, r *Run) (*checks.Result, error) {
	up := time.Since(r.Agent.Started).Seconds()
	return &checks.Result{Status: checks.StatusInfo,
		Output: fmt.Sprintf("Bergamot agent %s on %s, %s/%s, %s, up %s", r.Agent.Version, r.Agent.Host, runtime.GOOS, runtime.GOARCH,
			runtime.Version(), (time.Duration(up) * time.Second).String()),
		Perfdata: []checks.Perfdata{perf("uptime", up, "s", "", "", 0), perf("goroutines", float64(runtime.NumGoroutine()), "", "", "", 0)}}, nil
}

// agentMemory: the memory left for the agent (the host's available
// memory) against warning/critical sizes (10MiB/5MiB: alert below), with
// the agent's own resident size.
func agentMemory(ctx context.Context, r *Run) (*checks.Result, error) {
	warnB, err := parseSize(r.Param("warning", "10MiB"))
	if err != nil {
		return nil, fmt.Errorf("parameter warning: %w", err)
	}
	critB, err := parseSize(r.Param("critical", "5MiB"))
	if err != nil {
		return nil, fmt.Errorf("parameter critical: %w", err)
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading memory: %w", err)
	}
	var rss float64
	if p, err := process.NewProcessWithContext(ctx, int32(os.Getpid())); err == nil {
		if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
			rss = float64(mi.RSS)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	free := float64(vm.Available)
	w, c := below(fmt.Sprintf("%.0f", warnB), fmt.Sprintf("%.0f", critB))
	return threshold(free, w, c, fmt.Sprintf("Agent uses %s (heap %s); %s free for it", bytesText(rss), bytesText(float64(ms.HeapInuse)), bytesText(free)),
		perf("free", free, "B", w, c, 0), perf("rss", rss, "B", "", "", 0), perf("heap", float64(ms.HeapInuse), "B", "", "", 0))
}

// cpuUsage: total CPU use over the sample, thresholds cpu_warning and
// cpu_critical (percent, alert above).
func cpuUsage(ctx context.Context, r *Run) (*checks.Result, error) {
	pct, err := cpu.PercentWithContext(ctx, r.Agent.Sample, false)
	if err != nil || len(pct) == 0 {
		return nil, fmt.Errorf("reading CPU usage: %w", err)
	}
	n, _ := cpu.CountsWithContext(ctx, true)
	w, c := above(r.Param("cpu_warning", "80"), r.Param("cpu_critical", "90"))
	pd := []checks.Perfdata{perf("cpu_usage", round(pct[0]), "%", w, c, 0, 100)}
	if times, err := cpu.TimesWithContext(ctx, false); err == nil && len(times) > 0 {
		t := times[0]
		total := t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
		if total > 0 {
			pd = append(pd, perf("iowait", round(100*t.Iowait/total), "%", "", "", 0, 100))
		}
	}
	return threshold(pct[0], w, c, fmt.Sprintf("CPU usage %.1f%% (%d cores)", pct[0], n), pd...)
}

// loadAverage: 1, 5 and 15 minute load; thresholds load_N_warning and
// load_N_critical (-1: none).
func loadAverage(ctx context.Context, r *Run) (*checks.Result, error) {
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the load average: %w", err)
	}
	res := &checks.Result{Status: checks.StatusOK, Output: fmt.Sprintf("Load %.2f, %.2f, %.2f", avg.Load1, avg.Load5, avg.Load15)}
	for _, l := range []struct {
		n string
		v float64
	}{{"1", avg.Load1}, {"5", avg.Load5}, {"15", avg.Load15}} {
		w, c := above(r.Param("load_"+l.n+"_warning", "-1"), r.Param("load_"+l.n+"_critical", "-1"))
		st, err := checks.Threshold(l.v, w, c)
		if err != nil {
			return nil, fmt.Errorf("load_%s: %w", l.n, err)
		}
		res.Status = worst(res.Status, st)
		res.Perfdata = append(res.Perfdata, perf("load"+l.n, l.v, "", w, c, 0))
	}
	return res, nil
}

// memory: used memory percent (without caches when ignore_caches, the
// default); warning/critical percent.
func memory(ctx context.Context, r *Run) (*checks.Result, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading memory: %w", err)
	}
	used := float64(vm.Total - vm.Free)
	if r.Bool("ignore_caches", true) {
		used = float64(vm.Total - vm.Available)
	}
	pct := 0.0
	if vm.Total > 0 {
		pct = 100 * used / float64(vm.Total)
	}
	w, c := above(r.Param("warning", "80"), r.Param("critical", "90"))
	pd := []checks.Perfdata{perf("memory_used", round(pct), "%", w, c, 0, 100), perf("used", used, "B", "", "", 0, float64(vm.Total))}
	out := fmt.Sprintf("Memory %.1f%% used (%s of %s)", pct, bytesText(used), bytesText(float64(vm.Total)))
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		pd = append(pd, perf("swap_used", float64(sw.Used), "B", "", "", 0, float64(sw.Total)))
		out += fmt.Sprintf(", swap %s of %s", bytesText(float64(sw.Used)), bytesText(float64(sw.Total)))
	}
	return threshold(pct, w, c, out, pd...)
}

// osInfo: the operating system.
func osInfo(ctx context.Context, _ *Run) (*checks.Result, error) {
	hi, err := host.InfoWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading OS information: %w", err)
	}
	return &checks.Result{Status: checks.StatusInfo, Output: fmt.Sprintf("%s %s %s, kernel %s (%s), host %s",
		hi.OS, hi.Platform, hi.PlatformVersion, hi.KernelVersion, hi.KernelArch, hi.Hostname)}, nil
}

// users: logged-in sessions; warning/critical counts (alert above).
func users(ctx context.Context, r *Run) (*checks.Result, error) {
	us, err := host.UsersWithContext(ctx)
	if err != nil {
		us = nil // no utmp (containers): nobody is logged in
	}
	names := map[string]bool{}
	for _, u := range us {
		names[u.User] = true
	}
	w, c := above(r.Param("warning", "2"), r.Param("critical", "5"))
	n := float64(len(us))
	return threshold(n, w, c, fmt.Sprintf("%d user session(s), %d distinct user(s)", len(us), len(names)), perf("users", n, "", w, c, 0))
}

// uptime: seconds since boot; warning/critical (900/300: alert below, a
// recent reboot).
func uptime(ctx context.Context, r *Run) (*checks.Result, error) {
	up, err := host.UptimeWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading uptime: %w", err)
	}
	w, c := below(r.Param("warning", "900"), r.Param("critical", "300"))
	d := time.Duration(up) * time.Second
	return threshold(float64(up), w, c, fmt.Sprintf("Up %s (since %s)", d, time.Now().Add(-d).UTC().Format(time.RFC3339)),
		perf("uptime", float64(up), "s", w, c, 0))
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
