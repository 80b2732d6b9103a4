package netcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Host returns the host to contact: the "host" parameter, else the check's
// host address, else its host name. An empty result is an error.
func Host(req *checks.Request) (string, error) {
	h := strings.TrimSpace(req.Param("host", ""))
	if h == "" {
		h = strings.TrimSpace(req.HostAddress)
	}
	if h == "" {
		h = strings.TrimSpace(req.HostName)
	}
	if h == "" {
		return "", errors.New(`parameter "host": no host given and the check's host has no address or name`)
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), nil
}

// Port returns the "port" parameter, or def when it is empty; a value that
// is not a port number is an error naming the parameter.
func Port(req *checks.Request, def int) (int, error) {
	p, err := req.IntParam("port", def)
	if err != nil {
		return 0, err
	}
	if p < 1 || p > 65535 {
		if p == 0 && def == 0 {
			return 0, errors.New(`parameter "port" is required`)
		}
		return 0, fmt.Errorf("parameter %q: %d is not a port number (1-65535)", "port", p)
	}
	return p, nil
}

// Address joins host and port as "host:port" ("[v6]:port" for IPv6).
func Address(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Millis renders a duration for people: "3 ms", "0.4 ms", "1.20 s".
func Millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
}

// Seconds renders a duration in seconds with millisecond precision ("0.004").
func Seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// Describe turns a network error into the few words a person wants to read:
// "connection refused", "timed out", "no such host", "connection reset",
// "network unreachable"; otherwise the error text itself.
func Describe(ctx context.Context, err error) string {
	var dnsErr *net.DNSError
	var refused *netpolicy.RefusedError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &refused):
		return refused.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such host " + dnsErr.Name
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return err.Error()
}

// FailStatus is the status for a failed network operation: ERROR when the
// execution policy refused the address, TIMEOUT when the
// check's own deadline ran out, CRITICAL otherwise (the service is down).
func FailStatus(ctx context.Context, err error) checks.Status {
	if checks.PolicyRefusal(err) != nil {
		return checks.StatusError // the configuration's fault, not the service's
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return checks.StatusTimeout
	}
	// The socket deadline (set from ctx's) can fire a moment before ctx
	// itself reports it.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return checks.StatusTimeout
	}
	return checks.StatusCritical
}

// Perf builds a perfdata item; empty warn/crit are left out.
func Perf(label string, v float64, uom, warn, crit string, min *float64) checks.Perfdata {
	return checks.Perfdata{Label: label, Value: &v, UOM: uom, Warn: warn, Crit: crit, Min: min}
}

// Zero is a convenience pointer to 0 for perfdata minimums.
func Zero() *float64 { z := 0.0; return &z }

// CertPool loads PEM certificates from file into a pool; "" returns nil
// (use the system roots).
func CertPool(param, file string) (*x509.CertPool, error) {
	if strings.TrimSpace(file) == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", param, err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("parameter %q: %s holds no PEM certificate", param, file)
	}
	return p, nil
}
