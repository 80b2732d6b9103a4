package probe

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// pseudoFS are file systems the disks executor skips.
var pseudoFS = map[string]bool{"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "cgroup": true, "cgroup2": true,
	"securityfs": true, "pstore": true, "debugfs": true, "tracefs": true, "mqueue": true, "hugetlbfs": true, "configfs": true,
	"fusectl": true, "bpf": true, "autofs": true, "binfmt_misc": true, "rpc_pipefs": true, "nsfs": true, "squashfs": true, "ramfs": true,
	"efivarfs": true, "overlay": false}

// diskOne: space used on one mount (parameter mount, default /);
// warning/critical percent.
func diskOne(ctx context.Context, r *Run) (*checks.Result, error) {
	mount := r.Param("mount", "/")
	w, c := above(r.Param("warning", "80"), r.Param("critical", "90"))
	st, out, pd, err := diskUsage(ctx, mount, w, c)
	if err != nil {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("mount %s: %v", mount, err)}, nil
	}
	return &checks.Result{Status: st, Output: out, Perfdata: pd}, nil
}

func diskUsage(ctx context.Context, mount, w, c string) (checks.Status, string, []checks.Perfdata, error) {
	u, err := disk.UsageWithContext(ctx, mount)
	if err != nil {
		return 0, "", nil, err
	}
	st, err := checks.Threshold(u.UsedPercent, w, c)
	if err != nil {
		return 0, "", nil, err
	}
	out := fmt.Sprintf("%s %.1f%% used (%s of %s, %s free)", mount, u.UsedPercent, bytesText(float64(u.Used)), bytesText(float64(u.Total)), bytesText(float64(u.Free)))
	return st, out, []checks.Perfdata{perf(mount, round(u.UsedPercent), "%", w, c, 0, 100)}, nil
}

// mounts lists the real file systems' mount points.
func mounts(ctx context.Context) ([]string, error) {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("listing mounts: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range parts {
		if pseudoFS[p.Fstype] || seen[p.Mountpoint] || strings.HasPrefix(p.Mountpoint, "/proc") || strings.HasPrefix(p.Mountpoint, "/sys") ||
			strings.HasPrefix(p.Mountpoint, "/dev") || strings.HasPrefix(p.Mountpoint, "/run") {
			continue
		}
		if p.Device != "" && !strings.HasPrefix(p.Device, "/") && p.Fstype != "overlay" && p.Fstype != "zfs" && p.Fstype != "btrfs" {
			continue // not backed by a device (e.g. a bind of a pseudo fs)
		}
		seen[p.Mountpoint] = true
		out = append(out, p.Mountpoint)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"/"}
	}
	return out, nil
}

// diskAll: every real file system, the worst status; warning/critical percent.
func diskAll(ctx context.Context, r *Run) (*checks.Result, error) {
	w, c := above(r.Param("warning", "80"), r.Param("critical", "90"))
	ms, err := mounts(ctx)
	if err != nil {
		return nil, err
	}
	res := &checks.Result{Status: checks.StatusOK}
	var lines, alerts []string
	for _, m := range ms {
		st, out, pd, err := diskUsage(ctx, m, w, c)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			continue // vanished, or not ours to read
		}
		res.Status = worst(res.Status, st)
		res.Perfdata = append(res.Perfdata, pd...)
		lines = append(lines, out)
		if st != checks.StatusOK {
			alerts = append(alerts, out)
		}
	}
	if len(alerts) > 0 {
		res.Output = strings.Join(alerts, "; ")
	} else {
		res.Output = fmt.Sprintf("%d file system(s) below %s%% used", len(lines), w)
	}
	res.LongOutput = strings.Join(lines, "\n")
	return res, nil
}

// diskIO: read+write rate of one device (parameter device, /dev/sda1 or
// sda1) over the sample, MB/s; peak=yes uses the larger of read and write.
func diskIO(ctx context.Context, r *Run) (*checks.Result, error) {
	dev := filepath.Base(r.Param("device", "sda"))
	w, c := above(r.Param("warning", "200"), r.Param("critical", "250"))
	first, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading disk IO: %w", err)
	}
	a, ok := first[dev]
	if !ok {
		names := make([]string, 0, len(first))
		for n := range first {
			names = append(names, n)
		}
		sort.Strings(names)
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("no block device %q on this host (it has: %s)", dev, strings.Join(names, ", "))}, nil
	}
	start := time.Now()
	if err := sleep(ctx, r.Agent.Sample); err != nil {
		return nil, err
	}
	second, err := disk.IOCountersWithContext(ctx, dev)
	if err != nil {
		return nil, fmt.Errorf("reading disk IO: %w", err)
	}
	b := second[dev]
	secs := time.Since(start).Seconds()
	rd := float64(b.ReadBytes-a.ReadBytes) / secs / 1e6
	wr := float64(b.WriteBytes-a.WriteBytes) / secs / 1e6
	v := rd + wr
	if r.Bool("peak", false) {
		v = max(rd, wr)
	}
	return threshold(v, w, c, fmt.Sprintf("%s: read %.2f MB/s, write %.2f MB/s", dev, rd, wr),
		perf("read", round(rd), "MB/s", "", "", 0), perf("write", round(wr), "MB/s", "", "", 0), perf("io", round(v), "MB/s", w, c, 0))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
