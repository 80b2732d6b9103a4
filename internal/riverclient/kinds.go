package riverclient

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// River runs its maintenance, the rescuer of stuck jobs among it, on
// whichever client of the database is elected leader: a direct worker, a
// serve node's gateway, a notifier. The rescuer discards a stuck job
// whose kind the leader has no worker for ("Attempted to rescue
// unhandled job kind, discarding"): a notifier killed mid-send lost its
// notifications for good when a worker led, and a worker killed mid-check
// its slot when a notifier did. So every working client knows every kind:
// the packages that own a kind register a stub for it here, and KnowAll
// adds the stubs a client lacks. A stub never runs (no client works a
// queue of kinds it does not own); it gives the rescuer the kind's
// timeout, so the job is retried by its own role.
var (
	kindsMu sync.Mutex
	kinds   []func(*river.Workers) error
)

// RegisterKind records a stub for one job kind (see Stub); call it from
// the owning package's init.
func RegisterKind(add func(*river.Workers) error) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	kinds = append(kinds, add)
}

// KnowAll adds to ws a stub for every registered kind it has no worker for.
func KnowAll(ws *river.Workers) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	for _, add := range kinds {
		_ = add(ws) // an error means ws has the kind's real worker
	}
}

// Stub returns the registration of a stub worker for T's kind whose jobs
// are rescued once they have run for timeout (0: the leader's job timeout).
func Stub[T river.JobArgs](timeout time.Duration) func(*river.Workers) error {
	return func(ws *river.Workers) error { return river.AddWorkerSafely(ws, &stub[T]{timeout: timeout}) }
}

type stub[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	timeout time.Duration
}

// Work is never reached: the kind's queue is worked by its own role.
func (s *stub[T]) Work(_ context.Context, job *river.Job[T]) error {
	return fmt.Errorf("job %d of kind %s reached a client that only knows it for rescuing; its role works it", job.ID, job.Kind)
}

// Timeout is the kind's, for the rescuer.
func (s *stub[T]) Timeout(*river.Job[T]) time.Duration { return s.timeout }
