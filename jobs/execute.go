package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// ExecuteArgs asks a worker to run one check for one schedule slot.
type ExecuteArgs struct {
	SiteID  uuid.UUID `json:"site_id"`
	CheckID uuid.UUID `json:"check_id"`
	// Slot is the scheduled time; Deadline is when the watchdog gives up
	// waiting for a worker to start it.
	Slot     time.Time `json:"slot"`
	Deadline time.Time `json:"deadline"`
	Zone     string    `json:"zone"`
	// Private says Zone is the site's own zone (served only by remote
	// workers holding the site's keys), not an operator zone.
	Private bool `json:"private,omitempty"`
	Adhoc   bool `json:"adhoc,omitempty"`
}

// Kind implements river.JobArgs.
func (ExecuteArgs) Kind() string { return "check" }

// Every River client knows check jobs, so that a notifier leading River's
// maintenance rescues a dead worker's check instead of discarding it
// (riverclient.KnowAll).
func init() { riverclient.RegisterKind(riverclient.Stub[ExecuteArgs](0)) }

// DefaultCheckTimeout applies when a check has no timeout parameter.
const DefaultCheckTimeout = 30 * time.Second

var queueRE = regexp.MustCompile(`[^a-z0-9]+`)

// QueueForZone is the River queue of a zone.
func QueueForZone(zone string) string {
	z := strings.Trim(queueRE.ReplaceAllString(strings.ToLower(zone), "_"), "_")
	if z == "" {
		z = "default"
	}
	return "zone_" + z
}

// QueueFor is the River queue of a check of site in zone: an operator
// (shared) zone's queue is shared by every site; any other zone is the
// site's private zone, in a queue of its own, so that a zone of the same
// name in another site never reaches the site's workers.
func QueueFor(site uuid.UUID, zone string, shared bool) string {
	if shared {
		return QueueForZone(zone)
	}
	z := strings.TrimPrefix(QueueForZone(zone), "zone_")
	if len(z) > 80 { // River's queue names are at most 128 bytes
		sum := sha256.Sum256([]byte(zone))
		z = z[:40] + "_" + hex.EncodeToString(sum[:8])
	}
	return store.SiteQueuePrefix(site) + z
}

// AgentQueue is the River queue of checks of the agent engine: every serve
// node's agent hub works it and runs each check on the host's connected
// agent, forwarding it to AgentNodeQueue of the node holding that agent.
const AgentQueue = "agent"

// AgentNodeQueue is the queue of agent checks for one node's hub.
func AgentNodeQueue(node string) string {
	n := strings.Trim(queueRE.ReplaceAllString(strings.ToLower(node), "_"), "_")
	if len(n) > 100 {
		sum := sha256.Sum256([]byte(node))
		n = n[:60] + "_" + hex.EncodeToString(sum[:8])
	}
	return "agent_" + n
}

// queueOf is the queue of a scheduled check: AgentQueue for the agent
// engine's, else its zone's.
func queueOf(site uuid.UUID, zone string, shared, agent bool) string {
	if agent {
		return AgentQueue
	}
	return QueueFor(site, zone, shared)
}

// ExecuteWorker runs checks.
type ExecuteWorker struct {
	river.WorkerDefaults[ExecuteArgs]
	Pool     *pgxpool.Pool
	Engines  *checks.Registry
	Sealer   *store.Sealer
	WorkerID string
	Logger   *slog.Logger
	// MaxRuntime bounds one job (default JobTimeout); NewWorkerClient sets
	// it from WorkerConfig.RescueAfter.
	MaxRuntime time.Duration
	// SpecTTL, when positive, caches each check's definition for that long
	// (InvalidateSpecs drops the cache when configuration changes).
	SpecTTL time.Duration
	// ParkAfter is how many times a check job may end without a result
	// (its worker died, or the job outran its time and was rescued) before
	// it is parked: not run again, ended with an ERROR result that says so
	// (default DefaultParkAfter).
	ParkAfter int

	handback handback
	specs    specCache
	inFlight atomic.Int64
}

// InFlight is how many check jobs the worker is running now.
func (w *ExecuteWorker) InFlight() int { return int(w.inFlight.Load()) }

// Timeout lets River's own deadline sit past the check's.
func (w *ExecuteWorker) Timeout(*river.Job[ExecuteArgs]) time.Duration {
	if w.MaxRuntime > 0 {
		return w.MaxRuntime
	}
	return JobTimeout
}

// JobTimeout bounds one check job; checks have their own, shorter, timeouts.
const JobTimeout = 2 * time.Minute

// Work implements river.Worker.
func (w *ExecuteWorker) Work(ctx context.Context, job *river.Job[ExecuteArgs]) error {
	w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	ctx = tenants.WithSite(ctx, job.Args.SiteID)
	if res := w.parked(job); res != nil {
		if w.Logger != nil {
			w.Logger.ErrorContext(ctx, "parking a check job that keeps ending without a result", slog.String("check", job.Args.CheckID.String()),
				slog.Int("attempt", job.Attempt), slog.String("output", res.Output))
		}
		return w.complete(ctx, job, res)
	}
	req, err := w.loadRequest(ctx, job.Args.CheckID)
	if errors.Is(err, pgx.ErrNoRows) {
		// The check was removed since it was scheduled: nothing to do.
		return nil
	}
	var res *checks.Result
	if err != nil {
		res = &checks.Result{Status: checks.StatusError, Output: "cannot prepare check: " + err.Error(), Started: time.Now()}
	} else {
		if req.Zone != job.Args.Zone { // the cached definition is shared: copy it
			cp := *req
			cp.Zone = job.Args.Zone
			req = &cp
		}
		cctx, cancel := context.WithTimeout(ctx, req.Timeout)
		res = w.Engines.Execute(cctx, req)
		cancel()
	}
	res.Worker = w.WorkerID
	if !job.Args.Adhoc {
		res.Scheduled = job.Args.Slot
		if !job.Args.Slot.IsZero() {
			metrics.Late(res.Started.Sub(job.Args.Slot))
		}
	}
	if req != nil {
		metrics.CheckExecuted(req.Engine, res.Status.String(), res.Runtime)
	}
	return w.complete(ctx, job, res)
}

// DefaultParkAfter is ExecuteWorker.ParkAfter's default: with the
// scheduler's three attempts per job, two crashes park the third.
const DefaultParkAfter = 2

// parked returns the ERROR result of a job that already ended ParkAfter
// times without a result, or nil. River records such an end as an
// attempt error: the rescuer's "Stuck job rescued" (the worker died or
// hung) or a deadline (the job outran its time). Each of those may have
// taken a worker process down with it: the check is not run again for
// this slot, and the next slot tries afresh.
func (w *ExecuteWorker) parked(job *river.Job[ExecuteArgs]) *checks.Result {
	limit := w.ParkAfter
	if limit <= 0 {
		limit = DefaultParkAfter
	}
	n, last := 0, ""
	for _, e := range job.Errors {
		if strings.Contains(e.Error, "rescued") || strings.Contains(e.Error, "deadline exceeded") || strings.Contains(e.Error, "timeout") {
			n++
			last = e.Error
		}
	}
	if n < limit {
		return nil
	}
	return &checks.Result{Status: checks.StatusError, Started: time.Now(), Worker: w.WorkerID,
		Output: fmt.Sprintf("check parked: its run ended %d times without a result (the worker running it died, or the run outran its time: %q); "+
			"not run again for this slot. If it keeps happening, check what the check does (a script's memory, a plugin that hangs)", n, last)}
}

func (w *ExecuteWorker) complete(ctx context.Context, job *river.Job[ExecuteArgs], res *checks.Result) error {
	body, err := checks.DefaultLimits.Encode(res)
	if err != nil {
		return err
	}
	return w.handback.submit(ctx, w.Pool, job, body)
}

func (w *ExecuteWorker) loadRequest(ctx context.Context, checkID uuid.UUID) (*checks.Request, error) {
	if w.SpecTTL > 0 {
		if req := w.specs.get(checkID, w.SpecTTL); req != nil {
			return req, nil
		}
	}
	req, err := w.readRequest(ctx, checkID)
	if err == nil && w.SpecTTL > 0 {
		w.specs.put(checkID, req)
	}
	return req, err
}

// InvalidateSpecs drops cached check definitions (on a configuration change).
func (w *ExecuteWorker) InvalidateSpecs() { w.specs.clear() }

// FollowConfig listens for configuration changes now and returns the loop
// (for an errgroup) that drops the cached check definitions on each one,
// until ctx ends.
func (w *ExecuteWorker) FollowConfig(ctx context.Context) func() error {
	changed := Wakeup(ctx, w.Pool, ConfigChannel, w.Logger)
	return func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
				w.InvalidateSpecs()
			}
		}
	}
}

func (w *ExecuteWorker) readRequest(ctx context.Context, checkID uuid.UUID) (*checks.Request, error) {
	req := &checks.Request{CheckID: checkID.String(), Timeout: DefaultCheckTimeout}
	site, _ := tenants.SiteFrom(ctx)
	req.SiteID = site.String()
	var params map[string]string
	err := tenants.InSite(ctx, w.Pool, func(ctx context.Context, tx pgx.Tx) error {
		def, err := store.LoadCheckDefinition(ctx, tx, checkID)
		if err != nil {
			return err
		}
		req.Kind, req.Engine, req.Executor, req.Script, req.HostName, req.HostAddress = def.Kind, def.Engine, def.Executor, def.Script, def.HostName, def.HostAddress
		params = def.Parameters
		return w.resolveCredentials(ctx, tx, site, params)
	})
	if err != nil {
		return nil, err
	}
	req.Parameters = params
	req.CommandLine = params["command_line"]
	if t, ok := params["timeout"]; ok {
		if d, err := parseTimeout(t); err == nil && d > 0 {
			req.Timeout = d
		}
	}
	return req, nil
}

func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var n float64
	if _, err := fmt.Sscanf(s, "%g", &n); err != nil {
		return 0, err
	}
	return time.Duration(n * float64(time.Second)), nil
}

var credRE = regexp.MustCompile("\x1bcred:([^:\x1b]+):([a-z-]+)\x1b")

// resolveCredentials replaces credential placeholders in params with the
// decrypted values, just before execution.
func (w *ExecuteWorker) resolveCredentials(ctx context.Context, tx pgx.Tx, site uuid.UUID, params map[string]string) error {
	return openCredentials(ctx, tx, w.Sealer, site, params)
}

// openCredentials replaces credential placeholders in params with the values
// sealer decrypts (the trap loader needs the communities they hold, too).
func openCredentials(ctx context.Context, tx pgx.Tx, sealer *store.Sealer, site uuid.UUID, params map[string]string) error {
	ctx = tenants.WithSite(ctx, site)
	cache := map[string]map[string]string{}
	for k, v := range params {
		if !strings.Contains(v, store.CredentialPlaceholder) {
			continue
		}
		var ferr error
		params[k] = credRE.ReplaceAllStringFunc(v, func(m string) string {
			sub := credRE.FindStringSubmatch(m)
			name, field := sub[1], sub[2]
			vals, ok := cache[name]
			if !ok {
				if sealer == nil {
					ferr = fmt.Errorf("credential %q: no secret key to open it", name)
					return ""
				}
				var err error
				if vals, err = store.OpenCredential(ctx, tx, sealer, name); err != nil {
					ferr = err
					return ""
				}
				cache[name] = vals
			}
			return vals[field]
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}
