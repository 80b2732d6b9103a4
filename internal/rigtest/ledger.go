package rigtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ledgerSQL records, from inside PostgreSQL, every check job queued
// (river_job), every result handed back (result_inbox inserts) and every
// result the processor consumed (result_inbox deletes that committed).
// Triggers see every process's writes, commit or roll back with them, and
// need no cooperation from the code under test. Test-only: the rig's own
// schema on the rig's own database.
const ledgerSQL = `
CREATE SCHEMA rig;
CREATE TABLE rig.jobs (job_id bigint, check_id uuid, slot timestamptz, adhoc boolean, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE rig.handed (inbox_id bigint, check_id uuid, slot timestamptz, status text, output text, started timestamptz, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE rig.applied (inbox_id bigint, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION rig.on_job() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF NEW.kind = 'check' THEN
		INSERT INTO rig.jobs (job_id, check_id, slot, adhoc) VALUES (NEW.id, (NEW.args->>'check_id')::uuid,
			(NEW.args->>'slot')::timestamptz, COALESCE((NEW.args->>'adhoc')::boolean, false));
	END IF;
	RETURN NULL;
END $$;
CREATE FUNCTION rig.on_handed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	INSERT INTO rig.handed (inbox_id, check_id, slot, status, output, started) VALUES (NEW.id, NEW.check_id,
		NULLIF(NEW.result->>'Scheduled', '')::timestamptz, NEW.result->>'Status', NEW.result->>'Output', (NEW.result->>'Started')::timestamptz);
	RETURN NULL;
END $$;
CREATE FUNCTION rig.on_applied() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	INSERT INTO rig.applied (inbox_id) VALUES (OLD.id);
	RETURN NULL;
END $$;
CREATE TRIGGER rig_job AFTER INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION rig.on_job();
CREATE TRIGGER rig_handed AFTER INSERT ON result_inbox FOR EACH ROW EXECUTE FUNCTION rig.on_handed();
CREATE TRIGGER rig_applied AFTER DELETE ON result_inbox FOR EACH ROW EXECUTE FUNCTION rig.on_applied();
`

func installLedger(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, ledgerSQL)
	return err
}

// Slots is what happened to the scheduled slots up to a cutoff.
type Slots struct {
	Scheduled  int // slots queued (one River job each)
	Executed   int // slots applied exactly once
	Late       int // of those, started more than the lateness bound after the slot
	Lost       int // slots queued whose result never applied
	Duplicated int // slots applied more than once
	TimedOut   int // slots applied as TIMEOUT because no worker started them in time (the watchdog's)
	// CheckTimeouts are slots whose check ran and outran its own timeout:
	// the plugin's doing (or the machine's load), not the pipeline's.
	CheckTimeouts int
	InFlight      int // slots still queued or running at the cutoff's settling
	Problems      []string
}

func (s *Slots) String() string {
	return fmt.Sprintf("slots scheduled=%d executed=%d late=%d lost=%d duplicated=%d timed_out=%d in_flight=%d (check timeouts %d)",
		s.Scheduled, s.Executed, s.Late, s.Lost, s.Duplicated, s.TimedOut, s.InFlight, s.CheckTimeouts)
}

// Ledger waits (up to within) until every slot due before cutoff has left
// the queue, then counts them. lateBy is the lateness bound.
func (c *Cluster) Ledger(cutoff time.Time, lateBy, within time.Duration) *Slots {
	c.T.Helper()
	deadline := time.Now().Add(within)
	var s *Slots
	for {
		s = c.countSlots(cutoff, lateBy)
		if s != nil && s.InFlight == 0 && s.Lost == 0 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if s == nil {
		c.T.Fatal("the ledger could not be read")
	}
	return s
}

func (c *Cluster) countSlots(cutoff time.Time, lateBy time.Duration) *Slots {
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	rows, err := c.Admin.Query(ctx, `
		WITH s AS (SELECT check_id, slot, min(job_id) AS job_id FROM rig.jobs WHERE NOT adhoc AND slot <= $1 GROUP BY 1, 2),
		h AS (SELECT h.check_id, h.slot, count(a.inbox_id) AS applied, count(*) AS handed,
				min(h.started) FILTER (WHERE a.inbox_id IS NOT NULL) AS started,
				bool_or(h.status = 'TIMEOUT' AND a.inbox_id IS NOT NULL AND h.output LIKE '%took the check within%') AS timed_out,
				bool_or(h.status = 'TIMEOUT' AND a.inbox_id IS NOT NULL AND h.output NOT LIKE '%took the check within%') AS check_timeout
			FROM rig.handed h LEFT JOIN rig.applied a ON a.inbox_id = h.inbox_id WHERE h.slot <= $1 GROUP BY 1, 2)
		SELECT s.check_id::text, s.slot, COALESCE(h.applied, 0), COALESCE(h.handed, 0), h.started, COALESCE(h.timed_out, false),
			COALESCE(h.check_timeout, false),
			COALESCE((SELECT j.state::text || ' attempt ' || j.attempt || ' ' || COALESCE(j.errors::text, '') FROM river_job j WHERE j.id = s.job_id), 'job row gone'),
			EXISTS (SELECT 1 FROM river_job j WHERE j.kind = 'check' AND (j.args->>'check_id')::uuid = s.check_id
				AND (j.args->>'slot')::timestamptz = s.slot AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
			OR EXISTS (SELECT 1 FROM result_inbox r WHERE r.check_id = s.check_id AND NULLIF(r.result->>'Scheduled', '')::timestamptz = s.slot)
		FROM s LEFT JOIN h USING (check_id, slot) ORDER BY s.slot`, cutoff)
	if err != nil {
		c.T.Logf("reading the ledger: %v", err)
		return nil
	}
	defer rows.Close()
	out := &Slots{}
	for rows.Next() {
		var check string
		var slot time.Time
		var applied, handed int
		var started *time.Time
		var timedOut, checkTimeout, inFlight bool
		var job string
		if err := rows.Scan(&check, &slot, &applied, &handed, &started, &timedOut, &checkTimeout, &job, &inFlight); err != nil {
			c.T.Logf("reading the ledger: %v", err)
			return nil
		}
		out.Scheduled++
		switch {
		case applied == 0 && inFlight:
			out.InFlight++
		case applied == 0:
			out.Lost++
			out.Problems = append(out.Problems, fmt.Sprintf("lost: check %s slot %s (handed back %d times, none applied; its job: %.400s)", check, slot.Format(time.RFC3339Nano), handed, job))
		case applied > 1:
			out.Duplicated++
			out.Problems = append(out.Problems, fmt.Sprintf("duplicated: check %s slot %s applied %d times", check, slot.Format(time.RFC3339Nano), applied))
		default:
			out.Executed++
			if started != nil && started.Sub(slot) > lateBy {
				out.Late++
			}
		}
		if timedOut {
			out.TimedOut++
		}
		if checkTimeout {
			out.CheckTimeouts++
		}
	}
	if rows.Err() != nil {
		c.T.Logf("reading the ledger: %v", rows.Err())
		return nil
	}
	return out
}

// Receiver is a webhook endpoint counting the notifications it gets: the
// alerts' ledger.
type Receiver struct {
	URL string

	mu       sync.Mutex
	byKey    map[string]int
	messages int
	covered  int // alerts covered: single messages plus the problems digests summarise
}

// NewReceiver starts a webhook receiver on loopback.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{byKey: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p struct {
			Type           string `json:"type"`
			IdempotencyKey string `json:"idempotency_key"`
			MoreProblems   int    `json:"more_problems"`
		}
		_ = json.Unmarshal(body, &p)
		r.mu.Lock()
		r.messages++
		r.byKey[p.IdempotencyKey]++
		if r.byKey[p.IdempotencyKey] == 1 {
			r.covered += 1 + p.MoreProblems
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

// Alerts is what the receiver got.
type Alerts struct {
	Expected   int // deliveries the notification log holds (one per alert, recipient and channel)
	Messages   int // webhook requests received
	Covered    int // alerts covered once: distinct messages plus the problems their digests summarise
	Lost       int // Expected - Covered, when positive
	Duplicated int // messages received again with an idempotency key already seen
}

func (a *Alerts) String() string {
	return fmt.Sprintf("alerts expected=%d messages=%d covered=%d lost=%d duplicated=%d", a.Expected, a.Messages, a.Covered, a.Lost, a.Duplicated)
}

// Count reads the receiver against the notification deliveries the
// database holds for site.
func (r *Receiver) Count(c *Cluster, site string) *Alerts {
	c.T.Helper()
	a := &Alerts{}
	c.InSite(site, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM notification_deliveries WHERE kind <> 'digest'`).Scan(&a.Expected)
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	a.Messages, a.Covered = r.messages, r.covered
	for _, n := range r.byKey {
		if n > 1 {
			a.Duplicated += n - 1
		}
	}
	if a.Expected > a.Covered {
		a.Lost = a.Expected - a.Covered
	}
	return a
}

// Covered is how many alerts the receiver has seen so far.
func (r *Receiver) Covered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.covered
}
