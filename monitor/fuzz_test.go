package monitor

import (
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// FuzzApply drives random result sequences (each byte: status, dependency
// state, downtime, suppression) through Apply and checks the invariants
// the result processor relies on.
func FuzzApply(f *testing.F) {
	f.Add([]byte{2, 4, 4, 4, 2, 2, 2}, uint8(3), uint8(2))
	f.Add([]byte{2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, uint8(1), uint8(1))
	f.Add([]byte{4 | 0x20, 4 | 0x20, 4, 3, 0x44, 0x84, 2}, uint8(2), uint8(3))
	f.Add([]byte{9, 8, 7, 6, 5, 1, 0, 3}, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, failedAfter, recoversAfter uint8) {
		s := Settings{FailedAfter: int(failedAfter % 6), RecoversAfter: int(recoversAfter % 6), Renotify: 5 * time.Minute,
			Escalations: []Escalation{{After: 3 * time.Minute}}}
		st := Initial(checks.StatusPending, "", t0)
		for i, b := range data {
			in := Input{
				Result:       checks.Status(int(b&0x0f) % 10),
				Dependencies: DepState((b >> 4) & 3 % 3),
				InDowntime:   b&0x40 != 0,
				Suppressed:   b&0x80 != 0,
				Time:         t0.Add(time.Duration(i) * time.Minute),
			}
			if i%7 == 3 {
				st, _, _ = Acknowledge(st, i%2 == 0, in.Time)
			}
			prev := st
			var evs []Event
			st, evs = Apply(st, in, s)
			checkInvariants(t, i, prev, st, in, s, evs)
		}
	})
}

func checkInvariants(t *testing.T, i int, prev, st State, in Input, s Settings, evs []Event) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("result %d (%s deps=%s): "+format, append([]any{i, in.Result, in.Dependencies}, args...)...)
	}
	th := s.threshold(st.OK)
	switch {
	case st.Hard && st.Attempt != th:
		fail("hard with attempt %d, threshold %d", st.Attempt, th)
	case !st.Hard && (st.Attempt < 1 || st.Attempt > th):
		fail("soft with attempt %d, threshold %d", st.Attempt, th)
	case st.Hard && (st.HardStatus != st.Status || st.HardOK != st.OK):
		fail("hard but hard status %s differs from %s", st.HardStatus, st.Status)
	case !st.Hard && st.OK == st.HardOK:
		fail("soft on the same side as the hard state")
	case st.AlertOpen && st.HardOK:
		fail("alert open while hard ok")
	case !st.HardOK && !st.AlertOpen && !st.Encompassed:
		fail("hard problem without an alert")
	case st.Acknowledged && st.OK && st.HardOK:
		fail("acknowledged while ok")
	case st.FlapPercent < 0 || st.FlapPercent > 100:
		fail("flap percent %f", st.FlapPercent)
	case !st.Hard && in.Dependencies != DepsChanging && st.Attempt >= th:
		fail("held soft at attempt %d without changing dependencies", st.Attempt)
	}
	notified := 0
	for _, e := range evs {
		if e.Notify && e.Quiet != "" || !e.Notify && e.Type != NotifyNone && e.Quiet == "" {
			fail("event %s: notify=%v with quiet %q", e, e.Notify, e.Quiet)
		}
		if e.Notify && e.Type == NotifyAlert {
			notified++
			if st.Acknowledged || st.InDowntime || st.Suppressed || st.Flapping || st.Encompassed {
				fail("alert notification while quiet: %s", e)
			}
		}
		if e.Kind == EventStateChanged && e.Type != NotifyNone {
			fail("state change with a notification: %s", e)
		}
	}
	if notified > 1 {
		fail("%d alert notifications for one result: %v", notified, evs)
	}
}
