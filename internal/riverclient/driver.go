package riverclient

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/bergamot-monitoring/bergamot/store"
)

// Driver is River's pgx driver with River's LISTEN/NOTIFY channels renamed
// to carry Bergamot's channel secret (migration 000053, bergamot_channel()).
//
// River talks between its clients on three fixed channels, river_insert
// (queue names of new jobs), river_control (cancel a running job, pause a
// queue) and river_leadership (resign the maintenance leader), qualified by
// the schema: public.river_insert. PostgreSQL has no privilege for LISTEN
// or NOTIFY, so under the fixed names any login to the database (a site's
// reporting login) could hear every site's queue names and their timing,
// cancel a running check by its job id, or make the leader resign at will.
// With the secret suffix (public.river_insert_<secret>), only the roles
// that may read the secret (bergamot_app, bergamot_worker) can find the
// channels; River keeps its LISTEN wake-ups, so job pickup stays as fast.
//
// Every River client in Bergamot is built on NewDriver; a client on plain
// riverpgxv5 would neither hear nor be heard by the others (its jobs would
// still run, at the poll interval).
type Driver struct {
	*riverpgxv5.Driver
	pool *pgxpool.Pool

	mu     sync.Mutex
	suffix string
}

// NewDriver returns the River driver for pool. The channel secret is read
// on first use (the first LISTEN or NOTIFY), with that call's context, on
// a connection of its own.
func NewDriver(pool *pgxpool.Pool) *Driver {
	return &Driver{Driver: riverpgxv5.New(pool), pool: pool}
}

// topic returns River's topic name with the channel secret appended.
func (d *Driver) topic(ctx context.Context, topic string) (string, error) {
	s, err := d.secret(ctx)
	if err != nil {
		return "", err
	}
	return topic + s, nil
}

// secret reads the channel secret once, on a connection of its own: the
// first NOTIFY often comes from inside a transaction that holds one of the
// pool's connections (executeNow inserts its job in the caller's
// transaction), and with every pool connection held that way a read
// through the pool would wait forever.
func (d *Driver) secret(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.suffix != "" {
		return d.suffix, nil
	}
	cfg := d.pool.Config()
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return "", fmt.Errorf("river: connecting to read the channel secret: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if cfg.AfterConnect != nil { // the role the pool's connections take
		if err := cfg.AfterConnect(ctx, conn); err != nil {
			return "", fmt.Errorf("river: connecting to read the channel secret: %w", err)
		}
	}
	s, err := store.ChannelName(ctx, conn, "")
	if err != nil {
		return "", fmt.Errorf("river: %w", err)
	}
	d.suffix = s
	return s, nil
}

// GetExecutor returns River's executor with its topics renamed.
func (d *Driver) GetExecutor() riverdriver.Executor {
	return &executor{Executor: d.Driver.GetExecutor(), d: d}
}

// GetListener returns River's listener with its topics renamed.
func (d *Driver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &listener{Listener: d.Driver.GetListener(params), d: d}
}

// UnwrapExecutor returns the executor for a transaction begun outside River.
func (d *Driver) UnwrapExecutor(tx pgx.Tx) riverdriver.ExecutorTx {
	return wrapTx(d.Driver.UnwrapExecutor(tx), d)
}

// UnwrapTx returns the pgx transaction under a River executor.
func (d *Driver) UnwrapTx(execTx riverdriver.ExecutorTx) pgx.Tx {
	if t, ok := execTx.(*executorTx); ok {
		execTx = t.tx
	}
	return d.Driver.UnwrapTx(execTx)
}

// executor renames the topics of the three executor calls that notify.
type executor struct {
	riverdriver.Executor
	d *Driver
}

func (e *executor) Begin(ctx context.Context) (riverdriver.ExecutorTx, error) {
	tx, err := e.Executor.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return wrapTx(tx, e.d), nil
}

func (e *executor) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	p := *params
	var err error
	if p.Topic, err = e.d.topic(ctx, p.Topic); err != nil {
		return err
	}
	return e.Executor.NotifyMany(ctx, &p)
}

func (e *executor) JobCancel(ctx context.Context, params *riverdriver.JobCancelParams) (*rivertype.JobRow, error) {
	p := *params
	var err error
	if p.ControlTopic, err = e.d.topic(ctx, p.ControlTopic); err != nil {
		return nil, err
	}
	return e.Executor.JobCancel(ctx, &p)
}

func (e *executor) LeaderResign(ctx context.Context, params *riverdriver.LeaderResignParams) (bool, error) {
	p := *params
	var err error
	if p.LeadershipTopic, err = e.d.topic(ctx, p.LeadershipTopic); err != nil {
		return false, err
	}
	return e.Executor.LeaderResign(ctx, &p)
}

// executorTx is executor over a transaction.
type executorTx struct {
	executor
	tx riverdriver.ExecutorTx
}

func wrapTx(tx riverdriver.ExecutorTx, d *Driver) *executorTx {
	return &executorTx{executor: executor{Executor: tx, d: d}, tx: tx}
}

func (t *executorTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t *executorTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

// listener renames topics on the way in and back on the way out.
type listener struct {
	riverdriver.Listener
	d *Driver
}

func (l *listener) Listen(ctx context.Context, topic string) error {
	t, err := l.d.topic(ctx, topic)
	if err != nil {
		return err
	}
	return l.Listener.Listen(ctx, t)
}

func (l *listener) Unlisten(ctx context.Context, topic string) error {
	t, err := l.d.topic(ctx, topic)
	if err != nil {
		return err
	}
	return l.Listener.Unlisten(ctx, t)
}

func (l *listener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	n, err := l.Listener.WaitForNotification(ctx)
	if err != nil {
		return nil, err
	}
	s, err := l.d.secret(ctx)
	if err != nil {
		return nil, err
	}
	n.Topic = strings.TrimSuffix(n.Topic, s)
	return n, nil
}
