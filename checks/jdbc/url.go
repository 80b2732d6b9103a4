package jdbc

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Driver names a database protocol.
type Driver string

// The drivers the engine speaks.
const (
	PostgreSQL Driver = "postgresql"
	MySQL      Driver = "mysql" // also MariaDB
)

// Target is a parsed JDBC URL: where the database is.
type Target struct {
	Driver   Driver
	Host     string
	Port     int
	Database string
	// Params are the URL's query parameters (sslmode, ssl, ...).
	Params url.Values
}

// Addr is "host:port".
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String is the URL without parameters (which may hold secrets).
func (t Target) String() string {
	return fmt.Sprintf("jdbc:%s://%s/%s", t.Driver, t.Addr(), t.Database)
}

// ParseURL reads jdbc:postgresql://host[:port]/db[?k=v], jdbc:mysql://...
// or jdbc:mariadb://... (postgres:// and mysql:// without the jdbc: prefix
// too). The error says what part is wrong.
func ParseURL(raw string) (Target, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "jdbc:")
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Target{}, fmt.Errorf("%q is not a JDBC URL (want jdbc:postgresql://HOST:PORT/DB or jdbc:mysql://HOST:PORT/DB)", raw)
	}
	var t Target
	switch strings.ToLower(scheme) {
	case "postgresql", "postgres":
		t.Driver, t.Port = PostgreSQL, 5432
	case "mysql", "mariadb":
		t.Driver, t.Port = MySQL, 3306
	default:
		return Target{}, fmt.Errorf("JDBC URL %q: unsupported database %q (this engine speaks postgresql, mysql and mariadb)", redact(raw), scheme)
	}
	u, err := url.Parse("x://" + rest)
	if err != nil {
		return Target{}, fmt.Errorf("JDBC URL %q: %w", redact(raw), err)
	}
	if u.User != nil {
		return Target{}, fmt.Errorf("JDBC URL %q: give the user and password as parameters, not in the URL", redact(raw))
	}
	t.Host = u.Hostname()
	if t.Host == "" {
		return Target{}, fmt.Errorf("JDBC URL %q has no host", redact(raw))
	}
	if strings.Contains(t.Host, ":") && net.ParseIP(t.Host) == nil {
		return Target{}, fmt.Errorf("JDBC URL %q: bad host %q", redact(raw), t.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("JDBC URL %q: bad port %q", redact(raw), p)
		}
		t.Port = n
	}
	t.Database = strings.TrimPrefix(u.Path, "/")
	if strings.Contains(t.Database, "/") {
		return Target{}, fmt.Errorf("JDBC URL %q: bad database name %q", redact(raw), t.Database)
	}
	t.Params = u.Query()
	return t, nil
}

// redact drops the query string, where drivers accept passwords.
func redact(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	return s
}
