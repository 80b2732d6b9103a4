package jdbc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Dialer opens network connections (an execution policy plugs in here).
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Session is one read-only database session: every query runs in a
// read-only transaction under a statement timeout.
type Session interface {
	// Query runs sql with args and returns the column names and up to
	// maxRows rows as text (nil for SQL NULL).
	Query(ctx context.Context, sql string, args []any, maxRows int) (cols []string, rows [][]*string, err error)
	// Close ends the session.
	Close(ctx context.Context) error
}

// ErrTooManyRows is returned when a query returns more rows than allowed.
var ErrTooManyRows = errors.New("query returned too many rows")

// Open connects to t as user, with statement timeout stmtTimeout (0: none).
func Open(ctx context.Context, t Target, user, password string, stmtTimeout time.Duration, dial Dialer) (Session, error) {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	switch t.Driver {
	case PostgreSQL:
		return openPG(ctx, t, user, password, stmtTimeout, dial)
	case MySQL:
		return openMySQL(ctx, t, user, password, stmtTimeout, dial)
	}
	return nil, fmt.Errorf("unsupported database %q", t.Driver)
}

type pgSession struct {
	conn    *pgx.Conn
	timeout time.Duration
}

func openPG(ctx context.Context, t Target, user, password string, stmtTimeout time.Duration, dial Dialer) (Session, error) {
	sslmode := t.Params.Get("sslmode")
	if sslmode == "" {
		sslmode = "prefer"
		if t.Params.Get("ssl") == "true" {
			sslmode = "require"
		}
	}
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%d dbname=%s sslmode=%s", q(t.Host), t.Port, q(t.Database), q(sslmode)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	cfg.User, cfg.Password = user, password
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) { return []string{host}, nil } // the dialer resolves (and judges) names
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.RuntimeParams["application_name"] = "bergamot-check"
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgSession{conn: conn, timeout: stmtTimeout}, nil
}

func (s *pgSession) Query(ctx context.Context, sql string, args []any, maxRows int) ([]string, [][]*string, error) {
	tx, err := s.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if s.timeout > 0 {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", s.timeout.Milliseconds())); err != nil {
			return nil, nil, err
		}
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var data [][]*string
	for rows.Next() {
		if len(data) >= maxRows {
			return cols, data, fmt.Errorf("%w (more than %d)", ErrTooManyRows, maxRows)
		}
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		data = append(data, row)
	}
	return cols, data, rows.Err()
}

func (s *pgSession) Close(ctx context.Context) error { return s.conn.Close(ctx) }

type mysqlSession struct {
	db   *sql.DB
	conn *sql.Conn
}

func openMySQL(ctx context.Context, t Target, user, password string, stmtTimeout time.Duration, dial Dialer) (Session, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = user, password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", t.Addr(), t.Database
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	if d, ok := ctx.Deadline(); ok {
		cfg.Timeout = time.Until(d)
	}
	switch t.Params.Get("useSSL") + t.Params.Get("ssl") + t.Params.Get("tls") {
	case "true":
		cfg.TLSConfig = "true"
	case "skip-verify":
		cfg.TLSConfig = "skip-verify"
	}
	if stmtTimeout > 0 {
		// MariaDB's statement limit, in seconds; MySQL's is max_execution_time (SELECT only, ms).
		cfg.Params = map[string]string{"max_statement_time": fmt.Sprintf("%.3f", stmtTimeout.Seconds())}
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx)
	if err == nil {
		err = c.PingContext(ctx)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1193 && stmtTimeout > 0 { // unknown system variable: MySQL, not MariaDB
		if c != nil {
			_ = c.Close()
		}
		cfg.Params = map[string]string{"max_execution_time": fmt.Sprint(stmtTimeout.Milliseconds())}
		_ = db.Close()
		conn, _ = mysql.NewConnector(cfg)
		db = sql.OpenDB(conn)
		db.SetMaxOpenConns(1)
		c, err = db.Conn(ctx)
	}
	if err == nil {
		// DDL commits implicitly and would escape a READ ONLY transaction;
		// a read-only session refuses it too.
		_, err = c.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY")
	}
	if err != nil {
		if c != nil {
			_ = c.Close()
		}
		_ = db.Close()
		return nil, err
	}
	return &mysqlSession{db: db, conn: c}, nil
}

func (s *mysqlSession) Query(ctx context.Context, q string, args []any, maxRows int) ([]string, [][]*string, error) {
	tx, err := s.conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	var data [][]*string
	for rows.Next() {
		if len(data) >= maxRows {
			return cols, data, fmt.Errorf("%w (more than %d)", ErrTooManyRows, maxRows)
		}
		raw := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		data = append(data, row)
	}
	return cols, data, rows.Err()
}

func (s *mysqlSession) Close(context.Context) error {
	err := s.conn.Close()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}
