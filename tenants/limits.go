package tenants

import (
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Limits bound what sign-in and password hashing may cost. The zero value of
// a field means its default (see DefaultLimits).
type Limits struct {
	// LoginFailures is how many failed sign-ins one account (site + email)
	// may have within LoginWindow.
	LoginFailures int
	// AddressFailures is how many failed sign-ins one client address may
	// have within LoginWindow, whatever accounts they name.
	AddressFailures int
	// LoginWindow is the throttling window.
	LoginWindow time.Duration
	// PasswordHashes is how many passwords are hashed or checked at once
	// (argon2id: 19 MiB and a few tens of milliseconds of one core each).
	PasswordHashes int
	// PasswordQueue is how many more may wait for a turn; beyond it a
	// sign-in is refused as busy.
	PasswordQueue int
	// PasswordWait is the longest one waits for a turn.
	PasswordWait time.Duration
	// SignupsPerEmail is how many sign-ups through the API one email may
	// attempt in an hour.
	SignupsPerEmail int
	// SignupsPerAddress is how many sign-ups one client address may attempt
	// in an hour.
	SignupsPerAddress int
	// SessionIdle ends a browser session unused for this long (the
	// dashboard open in a tab keeps it in use).
	SessionIdle time.Duration
	// SessionMax ends a browser session this long after sign-in, used or not.
	SessionMax time.Duration
}

// DefaultLimits are the limits NewStore uses.
func DefaultLimits() Limits {
	return Limits{LoginFailures: 5, AddressFailures: 30, LoginWindow: time.Minute,
		PasswordHashes: max(1, runtime.GOMAXPROCS(0)/2), PasswordQueue: 32, PasswordWait: 5 * time.Second,
		SignupsPerEmail: 3, SignupsPerAddress: 10, SessionIdle: DefaultSessionIdle, SessionMax: SessionTTL}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.LoginFailures <= 0 {
		l.LoginFailures = d.LoginFailures
	}
	if l.AddressFailures <= 0 {
		l.AddressFailures = d.AddressFailures
	}
	if l.LoginWindow <= 0 {
		l.LoginWindow = d.LoginWindow
	}
	if l.PasswordHashes <= 0 {
		l.PasswordHashes = d.PasswordHashes
	}
	if l.PasswordQueue <= 0 {
		l.PasswordQueue = d.PasswordQueue
	}
	if l.PasswordWait <= 0 {
		l.PasswordWait = d.PasswordWait
	}
	if l.SignupsPerEmail <= 0 {
		l.SignupsPerEmail = d.SignupsPerEmail
	}
	if l.SignupsPerAddress <= 0 {
		l.SignupsPerAddress = d.SignupsPerAddress
	}
	if l.SessionIdle <= 0 {
		l.SessionIdle = d.SessionIdle
	}
	if l.SessionMax <= 0 {
		l.SessionMax = d.SessionMax
	}
	return l
}

type clientAddrKey struct{}

// WithClientAddr records the address a request came from (host only; a
// "host:port" is cut at the port), for per-address sign-in throttling.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFrom returns the address recorded by WithClientAddr, or "".
func ClientAddrFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}

// accountKey is the throttling key of one account: the site and email as
// the database matches them (trimmed, case-folded), so " Alpha" and "alpha"
// share one budget.
func accountKey(site, email string) string {
	return "account:" + strings.ToLower(strings.TrimSpace(site)) + "/" + strings.ToLower(strings.TrimSpace(email))
}

// LoginLimiter allows a number of failed attempts per key in a window. An
// attempt is counted when it starts, under the lock that checks the budget,
// so concurrent attempts cannot all pass the check before any is counted.
type LoginLimiter struct {
	mu     sync.Mutex
	window time.Duration
	fails  map[string][]time.Time
}

// NewLoginLimiter returns a limiter over window.
func NewLoginLimiter(window time.Duration) *LoginLimiter {
	return &LoginLimiter{window: window, fails: map[string][]time.Time{}}
}

// Budget is one key and how many failures it may have in the window.
type Budget struct {
	Key string
	Max int
}

// Attempt is one counted sign-in attempt.
type Attempt struct {
	l    *LoginLimiter
	keys []string
	at   time.Time
}

// Begin counts an attempt against every budget, or refuses it (counting
// nothing) and returns the first budget that is spent.
func (l *LoginLimiter) Begin(budgets ...Budget) (*Attempt, *Budget) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for i, b := range budgets {
		if b.Key != "" && len(l.recent(b.Key, now)) >= b.Max {
			return nil, &budgets[i]
		}
	}
	a := &Attempt{l: l, at: now}
	for _, b := range budgets {
		if b.Key != "" {
			l.fails[b.Key] = append(l.fails[b.Key], now)
			a.keys = append(a.keys, b.Key)
		}
	}
	return a, nil
}

func (l *LoginLimiter) recent(key string, now time.Time) []time.Time {
	cut := now.Add(-l.window)
	f := l.fails[key]
	i := 0
	for i < len(f) && f[i].Before(cut) {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = f
	}
	return f
}

// Cancel uncounts an attempt that was never checked (the server was busy).
func (a *Attempt) Cancel() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, k := range a.keys {
		a.l.drop(k, a.at)
	}
}

// Succeed uncounts a successful attempt and clears the failures of its
// first key (the account).
func (a *Attempt) Succeed() {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for i, k := range a.keys {
		if i == 0 {
			delete(a.l.fails, k)
			continue
		}
		a.l.drop(k, a.at)
	}
}

func (l *LoginLimiter) drop(key string, at time.Time) {
	f := l.fails[key]
	for i, t := range f {
		if t.Equal(at) {
			l.fails[key] = append(f[:i:i], f[i+1:]...)
			break
		}
	}
	if len(l.fails[key]) == 0 {
		delete(l.fails, key)
	}
}

// PasswordGate bounds how many password hashes run at once and how many
// wait for a turn, so a flood of sign-ins cannot take every core.
type PasswordGate struct {
	slots   chan struct{}
	queue   chan struct{}
	maxWait time.Duration
}

// NewPasswordGate allows n hashes at once and queue more waiting at most wait.
func NewPasswordGate(n, queue int, wait time.Duration) *PasswordGate {
	return &PasswordGate{slots: make(chan struct{}, n), queue: make(chan struct{}, queue), maxWait: wait}
}

// errBusy is what a caller sees when the gate is saturated.
func errBusy() error {
	return errs.E(errs.Transient, "the server is checking too many passwords at once; try again in a few seconds")
}

// Do runs fn when a slot is free. It refuses at once with a Transient error
// when the queue is full, and after the gate's wait when no slot frees up.
func (g *PasswordGate) Do(ctx context.Context, fn func() error) error {
	select {
	case g.slots <- struct{}{}:
	default:
		select {
		case g.queue <- struct{}{}:
		default:
			return errBusy()
		}
		t := time.NewTimer(g.maxWait)
		select {
		case g.slots <- struct{}{}:
			<-g.queue
			t.Stop()
		case <-t.C:
			<-g.queue
			return errBusy()
		case <-ctx.Done():
			<-g.queue
			t.Stop()
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	return fn()
}
