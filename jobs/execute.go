package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
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
	Adhoc    bool      `json:"adhoc,omitempty"`
}

// Kind implements river.JobArgs.
func (ExecuteArgs) Kind() string { return "check" }

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

	handback handback
	specs    specCache
}

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
	ctx = tenants.WithSite(ctx, job.Args.SiteID)
	req, err := w.loadRequest(ctx, job.Args.CheckID)
	if errors.Is(err, pgx.ErrNoRows) {
		// The check was removed since it was scheduled: nothing to do.
		return nil
	}
	var res *checks.Result
	if err != nil {
		res = &checks.Result{Status: checks.StatusError, Output: "cannot prepare check: " + err.Error(), Started: time.Now()}
	} else {
		cctx, cancel := context.WithTimeout(ctx, req.Timeout)
		res = w.Engines.Execute(cctx, req)
		cancel()
	}
	res.Worker = w.WorkerID
	if !job.Args.Adhoc {
		res.Scheduled = job.Args.Slot
	}
	return w.complete(ctx, job, res)
}

func (w *ExecuteWorker) complete(ctx context.Context, job *river.Job[ExecuteArgs], res *checks.Result) error {
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
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

func (w *ExecuteWorker) readRequest(ctx context.Context, checkID uuid.UUID) (*checks.Request, error) {
	req := &checks.Request{CheckID: checkID.String(), Timeout: DefaultCheckTimeout}
	site, _ := tenants.SiteFrom(ctx)
	req.SiteID = site.String()
	var params map[string]string
	var kind string
	err := tenants.InSite(ctx, w.Pool, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT c.kind, c.engine, c.executor, c.parameters, c.script,
				COALESCE(h.name, c.name), COALESCE(NULLIF(h.address, ''), NULLIF(c.address, ''), COALESCE(h.name, c.name))
			FROM checks c LEFT JOIN checks h ON h.id = c.parent_id AND h.kind = 'host' WHERE c.id = $1`, checkID).
			Scan(&kind, &req.Engine, &req.Executor, &params, &req.Script, &req.HostName, &req.HostAddress)
		if err != nil {
			return err
		}
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
				var sealed []byte
				if err := tx.QueryRow(ctx, `SELECT sealed FROM credentials WHERE name = $1`, name).Scan(&sealed); err != nil {
					ferr = fmt.Errorf("credential %q: %w", name, err)
					return ""
				}
				if sealer == nil {
					ferr = fmt.Errorf("credential %q: no secret key to open it", name)
					return ""
				}
				plain, err := sealer.Open(sealed, site[:])
				if err != nil {
					ferr = fmt.Errorf("credential %q: %w", name, err)
					return ""
				}
				vals = parseCredential(string(plain))
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

var credFieldRE = regexp.MustCompile(`<(username|password|key-id|key-secret)>([^<]*)</`)

func parseCredential(xmlText string) map[string]string {
	out := map[string]string{}
	for _, m := range credFieldRE.FindAllStringSubmatch(xmlText, -1) {
		out[m[1]] = xmlUnescape(m[2])
	}
	return out
}

func xmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&#39;", "'", "&amp;", "&").Replace(s)
}
