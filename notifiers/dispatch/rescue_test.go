package dispatch

import (
	"testing"
	"time"
)

// TestRescuedJobRetriesAtOnce: a notification job whose attempt began more
// than the job timeout ago was taken over from a dead notifier and runs
// again within a second; a send that failed waits its backoff. Without
// it the killed notifier's deliveries waited the channel's 30 s backoff
// on top of the rescue (TestChaosKillNotifierDuringStorm in rigtest).
func TestRescuedJobRetriesAtOnce(t *testing.T) {
	d := &Dispatcher{SendTimeout: 10 * time.Second, Backoff: func(int) time.Duration { return 30 * time.Second }}
	now := time.Now()
	failed := now.Add(-5 * time.Second)
	if got := d.retryAt(1, &failed).Sub(now); got < 29*time.Second {
		t.Errorf("a failed send retries after %s, want its 30s backoff", got)
	}
	rescued := now.Add(-41 * time.Second)
	if got := d.retryAt(1, &rescued).Sub(now); got > 2*time.Second {
		t.Errorf("a rescued job retries after %s, want about a second", got)
	}
}

// TestStubJobTimeoutFollowsSendTimeout: the roles that only know the
// notification kinds rescue them after the send timeout they are given
// plus 30 s (the default one minute when unset or unreadable).
func TestStubJobTimeoutFollowsSendTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"10s": 40 * time.Second, "": 90 * time.Second, "soon": 90 * time.Second, "-5s": 90 * time.Second} {
		if got := StubJobTimeout(in); got != want {
			t.Errorf("StubJobTimeout(%q) = %s, want %s", in, got, want)
		}
	}
}
