package tcp_test

import (
	"fmt"
	"syscall"
	"time"
)

// cpuTime is this process's user+system CPU time (includes the test server).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }
