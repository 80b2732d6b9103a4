package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/store"
)

// handback returns results through PostgreSQL in batches: many results per
// transaction into result_inbox, with one NOTIFY per batch (NOTIFY
// serialises committing transactions, so one per result would cap
// throughput). The same transaction finishes the results' River jobs by
// deleting their rows, and writes only the results whose job was not
// finished yet: the result and the job's completion commit together, so a
// worker that dies before the commit loses nothing (River rescues the job
// and it runs again) and one that dies after it leaves nothing to run
// twice; of a job rescued while its first run still went on, whichever run
// hands back first gives the slot its result and the other's is dropped
// (store.HandBackResults). Work waits for that commit before it
// returns; River's own completion afterwards finds no row and does nothing.
// Deleting instead of marking completed keeps river_job small at thousands
// of checks a second (results live in our tables; River keeps no history of
// check jobs).
type handback struct {
	once  sync.Once
	queue chan *handbackItem
}

type handbackItem struct {
	job  *river.Job[ExecuteArgs]
	body []byte
	done chan error
	at   time.Time // when the result was submitted
}

// handbackBatch is the most results per transaction; handbackWait how long
// the first result of a batch waits for company.
const (
	handbackBatch = 500
	handbackWait  = 2 * time.Millisecond
)

func (h *handback) submit(ctx context.Context, pool *pgxpool.Pool, job *river.Job[ExecuteArgs], body []byte) error {
	h.once.Do(func() {
		h.queue = make(chan *handbackItem, 4*handbackBatch)
		go h.loop(pool)
	})
	it := &handbackItem{job: job, body: body, done: make(chan error, 1), at: time.Now()}
	select {
	case h.queue <- it:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *handback) loop(pool *pgxpool.Pool) {
	for first := range h.queue {
		batch := []*handbackItem{first}
		timer := time.NewTimer(handbackWait)
	gather:
		for len(batch) < handbackBatch {
			select {
			case it := <-h.queue:
				batch = append(batch, it)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		err := writeResults(pool, batch)
		if err == nil {
			metrics.HandedBack(len(batch), time.Since(first.at))
		}
		for _, it := range batch {
			it.done <- err
		}
	}
}

func writeResults(pool *pgxpool.Pool, batch []*handbackItem) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jobIDs := make([]int64, len(batch))
	sites := make([]uuid.UUID, len(batch))
	ids := make([]uuid.UUID, len(batch))
	bodies := make([]string, len(batch))
	for i, it := range batch {
		jobIDs[i] = it.job.ID
		sites[i], ids[i], bodies[i] = it.job.Args.SiteID, it.job.Args.CheckID, string(it.body)
	}
	// The jobs complete, their results enter the inbox and the processors
	// are woken, or none of it happens.
	return store.HandBackResults(ctx, pool, jobIDs, sites, ids, bodies)
}

// specCache keeps check definitions for a short while.
type specCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]cachedSpec
}

type cachedSpec struct {
	req *checks.Request
	at  time.Time
}

func (c *specCache) get(id uuid.UUID, ttl time.Duration) *checks.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || time.Since(e.at) > ttl {
		return nil
	}
	// Engines may not change the request, but give each run its own copy
	// of what they could touch.
	r := *e.req
	r.Parameters = make(map[string]string, len(e.req.Parameters))
	for k, v := range e.req.Parameters {
		r.Parameters[k] = v
	}
	return &r
}

func (c *specCache) put(id uuid.UUID, req *checks.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 200000 {
		c.m = map[uuid.UUID]cachedSpec{}
	}
	c.m[id] = cachedSpec{req: req, at: time.Now()}
}

func (c *specCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
