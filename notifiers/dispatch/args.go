package dispatch

import (
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// Queue is the River queue the notifier role works.
const Queue = "notifications"

// NotifyArgs is one event of one check, to be fanned out to recipients.
type NotifyArgs struct {
	Site  uuid.UUID  `json:"site"`
	Check uuid.UUID  `json:"check"`
	Alert *uuid.UUID `json:"alert,omitempty"`
	// ID identifies the notification: the same event always has the same
	// ID, so deliveries derived from it are deduplicated.
	ID         string         `json:"id"`
	Type       notifiers.Type `json:"type"`
	Status     string         `json:"status"`
	Previous   string         `json:"previous,omitempty"`
	Output     string         `json:"output,omitempty"`
	LongOutput string         `json:"long_output,omitempty"`
	Since      time.Time      `json:"since"`
	Time       time.Time      `json:"time"`
	// Level is the escalation level (index into the check's escalations)
	// of an escalation notification.
	Level int `json:"level,omitempty"`
	// Escalated has bit i set for escalation levels already notified:
	// recoveries and acknowledgements reach those people too.
	Escalated uint64 `json:"escalated,omitempty"`
	// Repeat is set for reminders of a problem already notified.
	Repeat  bool   `json:"repeat,omitempty"`
	Author  string `json:"author,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Kind is the River job kind.
func (NotifyArgs) Kind() string { return "notify" }

// InsertOpts puts the job on the notifications queue. A duplicate (a
// retried transaction) is harmless: deliveries are keyed by ID.
func (NotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 10}
}

// DeliverArgs sends one delivery (one notification to one recipient on
// one channel), found by its idempotency key.
type DeliverArgs struct {
	Site uuid.UUID `json:"site"`
	Key  string    `json:"key"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "notify_deliver" }

// InsertOpts puts the job on the notifications queue.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// DigestArgs sends the deliveries held back by the rate limit for one
// recipient and channel as one summary message. Bucket is the rate window
// the digest closes (unix seconds of its start), so there is one digest
// job per window.
type DigestArgs struct {
	Site      uuid.UUID `json:"site"`
	Recipient string    `json:"recipient"`
	Channel   string    `json:"channel"`
	Bucket    int64     `json:"bucket"`
}

// Kind is the River job kind.
func (DigestArgs) Kind() string { return "notify_digest" }

// Every River client knows the notification kinds, so that a worker or a
// gateway leading River's maintenance rescues a dead notifier's jobs
// instead of discarding them (riverclient.KnowAll). The timeout is the
// notifier's job timeout (StubJobTimeout): a job running longer than that
// has lost its notifier.
func init() {
	timeout := StubJobTimeout(os.Getenv(SendTimeoutEnv))
	for _, add := range []func(*river.Workers) error{riverclient.Stub[NotifyArgs](timeout),
		riverclient.Stub[DeliverArgs](timeout), riverclient.Stub[DigestArgs](timeout)} {
		riverclient.RegisterKind(add)
	}
}

// SendTimeoutEnv names the notifier's send timeout in the environment.
// Every role reads it (give it the same value on all of them): whichever
// process leads River's maintenance rescues a dead notifier's jobs once
// they have run for the send timeout plus 30 s.
const SendTimeoutEnv = "BERGAMOT_NOTIFY_SEND_TIMEOUT"

// StubJobTimeout is the job timeout of a notifier whose send timeout is
// sendTimeout (a Go duration; empty or unreadable: the default, one minute).
func StubJobTimeout(sendTimeout string) time.Duration {
	d, err := time.ParseDuration(sendTimeout)
	if err != nil || d <= 0 {
		d = defaultSendTimeout
	}
	return d + jobTimeoutMargin
}

// defaultSendTimeout is Dispatcher.SendTimeout's default; jobTimeoutMargin
// what a job's timeout adds to it (recording the attempt).
const (
	defaultSendTimeout = time.Minute
	jobTimeoutMargin   = 30 * time.Second
)

// InsertOpts makes one digest job per recipient, channel and window.
func (DigestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}
