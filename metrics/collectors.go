package metrics

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector reports a pgx pool's statistics when scraped.
type poolCollector struct {
	pool                                 *pgxpool.Pool
	conns, max, acquires, waits, waitSec *prometheus.Desc
}

// Pool registers the database pool statistics of this process
// (bergamot_db_*), once per process.
func Pool(pool *pgxpool.Pool) {
	if pool == nil {
		return
	}
	Register("pool", &poolCollector{pool: pool,
		conns:    prometheus.NewDesc("bergamot_db_connections", "Database connections in this process's pool, by state (acquired, idle, constructing).", []string{"state"}, nil),
		max:      prometheus.NewDesc("bergamot_db_max_connections", "The most connections this process's pool opens.", nil, nil),
		acquires: prometheus.NewDesc("bergamot_db_acquires_total", "Connections taken from the pool.", nil, nil),
		waits:    prometheus.NewDesc("bergamot_db_acquire_waits_total", "Acquisitions that had to wait for a connection.", nil, nil),
		waitSec:  prometheus.NewDesc("bergamot_db_acquire_wait_seconds_total", "Time spent waiting for a connection.", nil, nil),
	})
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.conns
	ch <- c.max
	ch <- c.acquires
	ch <- c.waits
	ch <- c.waitSec
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitSec, prometheus.CounterValue, st.AcquireDuration().Seconds())
}

// Backlog is what a serve node reads from the database when scraped:
// check jobs waiting per zone, checks due and not yet queued, results
// waiting to be processed, live workers.
type Backlog struct {
	QueueDepth   map[string]int64
	ChecksDue    int64
	Results      int64
	WorkersAlive int64
}

// backlogCollector reads a Backlog when scraped.
type backlogCollector struct {
	read                           func(ctx context.Context) (*Backlog, error)
	depth, due, results, alive, up *prometheus.Desc
}

// Backlogs registers read as the source of bergamot_queue_depth{zone},
// bergamot_checks_due, bergamot_results_pending and
// bergamot_workers_alive, once per process.
func Backlogs(read func(ctx context.Context) (*Backlog, error)) {
	Register("backlog", &backlogCollector{read: read,
		depth:   prometheus.NewDesc("bergamot_queue_depth", "Check jobs queued and not yet started, by zone (a site's private zone is site_<site id>_<zone>).", []string{"zone"}, nil),
		due:     prometheus.NewDesc("bergamot_checks_due", "Checks due and not yet queued.", nil, nil),
		results: prometheus.NewDesc("bergamot_results_pending", "Results waiting to be processed.", nil, nil),
		alive:   prometheus.NewDesc("bergamot_workers_alive", "Direct workers seen in the last 30 seconds.", nil, nil),
		up:      prometheus.NewDesc("bergamot_database_up", "1 when the last scrape could read the backlog from PostgreSQL, else 0.", nil, nil),
	})
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.due, c.results, c.alive, c.up} {
		ch <- d
	}
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for zone, n := range b.QueueDepth {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), zone)
	}
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(b.ChecksDue))
	ch <- prometheus.MustNewConstMetric(c.results, prometheus.GaugeValue, float64(b.Results))
	ch <- prometheus.MustNewConstMetric(c.alive, prometheus.GaugeValue, float64(b.WorkersAlive))
}

// AgentCA is what the agent manager reads from its data directory when
// scraped: its ledgers (shared with `bergamot agent cert|revoke`, so
// certificates issued on the command line count too) and the expiry of
// the certificates it cannot work without.
type AgentCA struct {
	// Issued and Revoked count the ledgers' entries (agent and template
	// certificates; hub certificates are not in the ledger).
	Issued, Revoked int
	// Expires is the not-after time by certificate: "root" (every site CA
	// ends with it), "manager" (its TLS certificate), "node" (the serve
	// nodes' credentials).
	Expires map[string]time.Time
}

// agentCACollector reads an AgentCA when scraped.
type agentCACollector struct {
	read                     func() (*AgentCA, error)
	issued, revoked, exp, up *prometheus.Desc
}

// AgentManager registers read as the source of the agent manager's
// series: bergamot_agent_certificates_issued_total,
// bergamot_agent_certificates_revoked_total,
// bergamot_agent_ca_expiry_timestamp_seconds{certificate} and
// bergamot_agent_ca_up.
func AgentManager(read func() (*AgentCA, error)) {
	Register("agent-ca", &agentCACollector{read: read,
		issued:  prometheus.NewDesc("bergamot_agent_certificates_issued_total", "Agent and template certificates the agent manager has issued (its ledger, including bergamot agent cert).", nil, nil),
		revoked: prometheus.NewDesc("bergamot_agent_certificates_revoked_total", "Certificates on the agent manager's revocation list.", nil, nil),
		exp:     prometheus.NewDesc("bergamot_agent_ca_expiry_timestamp_seconds", "When the agent manager's certificates expire (Unix time): root (and with it every site CA), manager, node.", []string{"certificate"}, nil),
		up:      prometheus.NewDesc("bergamot_agent_ca_up", "1 when the last scrape could read the agent manager's ledgers, else 0.", nil, nil),
	})
}

func (c *agentCACollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.issued, c.revoked, c.exp, c.up} {
		ch <- d
	}
}

func (c *agentCACollector) Collect(ch chan<- prometheus.Metric) {
	a, err := c.read()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.issued, prometheus.CounterValue, float64(a.Issued))
	ch <- prometheus.MustNewConstMetric(c.revoked, prometheus.CounterValue, float64(a.Revoked))
	for name, t := range a.Expires {
		ch <- prometheus.MustNewConstMetric(c.exp, prometheus.GaugeValue, float64(t.Unix()), name)
	}
}
