package apitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
)

// LoadEnv is the environment variable that turns a test binary into a load
// client (see RunLoadClientIfAsked); the LoadConfig follows on its stdin
// as the first line, in JSON.
const LoadEnv = "BERGAMOT_APITEST_LOAD"

// LoadSub is one subscription the load client holds, on its own WebSocket.
type LoadSub struct {
	// Class groups subscriptions in the statistics ("host", "all", ...).
	Class string
	Query string
	Vars  map[string]any
}

// LoadConfig is what a load client does. Results it feeds carry
// "bench <unix-nanoseconds> <sequence>" as their output, the time taken
// just before the transaction that hands them back commits; subscribers
// measure latency from that stamp (same machine, same clock). A result is
// counted once per subscription, at its first delivery, and only when fed
// during the measured window: updates re-sent later for other reasons (a
// host's state changing its services', say) carry an older result and
// would otherwise count its age.
type LoadConfig struct {
	URL, Token string
	Subs       []LoadSub
	// DBURL, Site, Checks and Rate feed results into result_inbox the way
	// workers hand them back (jobs/handback.go): batches, one NOTIFY each.
	DBURL  string
	Site   string
	Checks []string
	Rate   int
	// BatchEvery is how often a batch is written (default 5 ms).
	BatchEvery time.Duration
	// ProblemEvery: every n-th result is CRITICAL (0: never).
	ProblemEvery int
}

// ClassStats are one class's deliveries during the measured window.
type ClassStats struct {
	Subs     int
	Messages int
	P50, P99 time.Duration
	Max      time.Duration
}

// LoadStats are a load client's measurements for one window.
type LoadStats struct {
	Window   time.Duration
	Results  int // results fed
	Messages int // data messages received
	P50, P99 time.Duration
	Classes  map[string]*ClassStats
	// CPU is the client process's CPU time in the window.
	CPU time.Duration
	// Errors are unexpected messages (GraphQL errors, closed sockets).
	Errors []string
}

// Load controls a load client running as a child process.
type Load struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	errs  bytes.Buffer
	Child *os.Process
}

// StartLoad re-executes the running test binary as a load client with c,
// waits until all its subscriptions are sent, and stops it when the test
// ends. The binary must call RunLoadClientIfAsked early (an init function).
func StartLoad(t testing.TB, c LoadConfig) *Load {
	t.Helper()
	raw, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), LoadEnv+"=1")
	l := &Load{cmd: cmd}
	cmd.Stderr = &l.errs
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting load client: %v", err)
	}
	l.in, l.out, l.Child = in, bufio.NewScanner(out), cmd.Process
	if _, err := in.Write(append(raw, '\n')); err != nil {
		t.Fatalf("load client: %v", err)
	}
	l.out.Buffer(make([]byte, 1<<20), 16<<20)
	t.Cleanup(func() { _ = in.Close(); _ = cmd.Wait() })
	if line := l.line(); line != "ready" {
		t.Fatalf("load client: %q; stderr: %s", line, l.errs.String())
	}
	return l
}

func (l *Load) line() string {
	if !l.out.Scan() {
		return "exited: " + fmt.Sprint(l.out.Err())
	}
	return l.out.Text()
}

// Feed starts feeding results (if configured).
func (l *Load) Feed(t testing.TB) { l.command(t, "feed") }

// Start begins a measured window.
func (l *Load) Start(t testing.TB) { l.command(t, "start") }

// Stop ends the window and returns its measurements.
func (l *Load) Stop(t testing.TB) *LoadStats {
	t.Helper()
	l.command(t, "stop")
	var s LoadStats
	if err := json.Unmarshal([]byte(l.line()), &s); err != nil {
		t.Fatalf("load client: %v; stderr: %s", err, l.errs.String())
	}
	return &s
}

func (l *Load) command(t testing.TB, c string) {
	t.Helper()
	if _, err := io.WriteString(l.in, c+"\n"); err != nil {
		t.Fatalf("load client: %v; stderr: %s", err, l.errs.String())
	}
}

// RunLoadClientIfAsked runs the load client and exits when LoadEnv is set;
// otherwise it returns at once. Call it from an init function of the test
// binary that uses StartLoad.
func RunLoadClientIfAsked() {
	if os.Getenv(LoadEnv) == "" {
		return
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	raw, err := in.ReadBytes('\n')
	var c LoadConfig
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load client: reading the configuration:", err)
		os.Exit(2)
	}
	if err := runLoad(context.Background(), c, in, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load client:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// loadConn is one subscription's socket and what it measured.
type loadConn struct {
	class   string
	c       *websocket.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	samples []int32 // microseconds
	errs    []string
	seen    map[int64]struct{} // sequences counted
}

func runLoad(ctx context.Context, c LoadConfig, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var recording atomic.Bool
	var since atomic.Int64
	conns, err := dialAll(ctx, c, &recording, &since)
	if err != nil {
		return err
	}
	defer func() {
		for _, lc := range conns {
			_ = lc.c.Close()
		}
	}()
	fmt.Fprintln(out, "ready")
	var fed atomic.Int64
	var start time.Time
	var cpu0 time.Duration
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "feed":
			if c.DBURL != "" {
				if err := startFeed(ctx, c, &fed); err != nil {
					return err
				}
			}
		case "start":
			for _, lc := range conns {
				lc.mu.Lock()
				lc.samples, lc.errs, lc.seen = lc.samples[:0], nil, map[int64]struct{}{}
				lc.mu.Unlock()
			}
			fed.Store(0)
			start, cpu0 = time.Now(), selfCPU()
			since.Store(start.UnixNano())
			recording.Store(true)
		case "stop":
			recording.Store(false)
			s := collect(conns, time.Since(start))
			s.CPU = selfCPU() - cpu0
			s.Results = int(fed.Load())
			raw, _ := json.Marshal(s)
			fmt.Fprintln(out, string(raw))
		}
	}
	return nil
}

func dialAll(ctx context.Context, c LoadConfig, recording *atomic.Bool, since *atomic.Int64) ([]*loadConn, error) {
	conns := make([]*loadConn, len(c.Subs))
	errc := make(chan error, len(c.Subs))
	sem := make(chan struct{}, 32)
	for i, s := range c.Subs {
		lc := &loadConn{class: s.Class}
		conns[i] = lc
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errc <- lc.open(c, s, i)
		}()
	}
	for range c.Subs {
		if err := <-errc; err != nil {
			return nil, err
		}
	}
	for _, lc := range conns {
		go lc.read(ctx, recording, since)
	}
	return conns, nil
}

// open dials, authenticates and subscribes; even subscriptions use
// graphql-transport-ws, odd ones the legacy graphql-ws.
func (lc *loadConn) open(c LoadConfig, s LoadSub, i int) error {
	proto, start := TransportWS, "subscribe"
	if i%2 == 1 {
		proto, start = LegacyWS, "start"
	}
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(c.URL, "http")+"/graphql", nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	lc.c = conn
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + c.Token}}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var m Message
		if err := conn.ReadJSON(&m); err != nil {
			return fmt.Errorf("connection_init: %w", err)
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type != "ka" && m.Type != "ping" {
			return fmt.Errorf("connection_init: server sent %s %s", m.Type, m.Payload)
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn.WriteJSON(map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": s.Query, "variables": s.Vars}})
}

var benchMark = []byte(`"bench `)

// read receives until the socket closes; data messages carrying a bench
// stamp are timed without decoding the whole payload.
func (lc *loadConn) read(ctx context.Context, recording *atomic.Bool, since *atomic.Int64) {
	for ctx.Err() == nil {
		_, msg, err := lc.c.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		i := bytes.Index(msg, benchMark)
		if i < 0 {
			lc.other(msg)
			continue
		}
		rest := msg[i+len(benchMark):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		stamp, seq, ok := bytes.Cut(rest[:j], []byte(" "))
		if !ok || !recording.Load() {
			continue
		}
		ns, err1 := strconv.ParseInt(string(stamp), 10, 64)
		k, err2 := strconv.ParseInt(string(seq), 10, 64)
		if err1 != nil || err2 != nil || ns < since.Load() {
			continue
		}
		us := now.Sub(time.Unix(0, ns)).Microseconds()
		lc.mu.Lock()
		if _, dup := lc.seen[k]; !dup && lc.seen != nil {
			lc.seen[k] = struct{}{}
			lc.samples = append(lc.samples, int32(min(us, 1<<31-1)))
		}
		lc.mu.Unlock()
	}
}

// other handles a message without a bench stamp: pings, keep-alives,
// updates of other checks and errors.
func (lc *loadConn) other(msg []byte) {
	var m Message
	if json.Unmarshal(msg, &m) != nil {
		return
	}
	switch m.Type {
	case "ping":
		lc.wmu.Lock()
		_ = lc.c.WriteJSON(map[string]any{"type": "pong"})
		lc.wmu.Unlock()
	case "error", "complete", "connection_error":
		lc.mu.Lock()
		lc.errs = append(lc.errs, m.Type+" "+string(m.Payload))
		lc.mu.Unlock()
	}
}

func collect(conns []*loadConn, window time.Duration) *LoadStats {
	s := &LoadStats{Window: window, Classes: map[string]*ClassStats{}}
	all := []int32{}
	by := map[string][]int32{}
	for _, lc := range conns {
		lc.mu.Lock()
		all = append(all, lc.samples...)
		by[lc.class] = append(by[lc.class], lc.samples...)
		s.Errors = append(s.Errors, lc.errs...)
		lc.mu.Unlock()
		cs := s.Classes[lc.class]
		if cs == nil {
			cs = &ClassStats{}
			s.Classes[lc.class] = cs
		}
		cs.Subs++
	}
	if len(s.Errors) > 5 {
		s.Errors = append(s.Errors[:5], fmt.Sprintf("... %d more", len(s.Errors)-5))
	}
	s.Messages = len(all)
	s.P50, s.P99, _ = quantiles(all)
	for k, v := range by {
		cs := s.Classes[k]
		cs.Messages = len(v)
		cs.P50, cs.P99, cs.Max = quantiles(v)
	}
	return s
}

func quantiles(v []int32) (p50, p99, max time.Duration) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	slices.Sort(v)
	at := func(q float64) time.Duration {
		return time.Duration(v[min(int(q*float64(len(v))), len(v)-1)]) * time.Microsecond
	}
	return at(0.5), at(0.99), time.Duration(v[len(v)-1]) * time.Microsecond
}

// SelfCPU is the calling process's user+system CPU time so far.
func SelfCPU() time.Duration { return selfCPU() }

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startFeed hands results back at c.Rate per second until ctx ends: every
// BatchEvery, the results due so far go into result_inbox in one
// transaction with one NOTIFY, as jobs/handback.go does for a worker.
func startFeed(ctx context.Context, c LoadConfig, fed *atomic.Int64) error {
	pool, err := pgxpool.New(ctx, c.DBURL)
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	site, err := uuid.Parse(c.Site)
	if err != nil {
		return fmt.Errorf("feed: site: %w", err)
	}
	ids := make([]uuid.UUID, len(c.Checks))
	for i, s := range c.Checks {
		if ids[i], err = uuid.Parse(s); err != nil {
			return fmt.Errorf("feed: check: %w", err)
		}
	}
	every := c.BatchEvery
	if every <= 0 {
		every = 5 * time.Millisecond
	}
	go func() {
		defer pool.Close()
		t := time.NewTicker(every)
		defer t.Stop()
		begin, sent := time.Now(), 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			due := int(time.Since(begin).Seconds()*float64(c.Rate)) - sent
			if due <= 0 {
				continue
			}
			if err := feedBatch(ctx, pool, c, site, ids, sent, due); err != nil {
				if ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "feed:", err)
				}
				continue
			}
			sent += due
			fed.Add(int64(due))
		}
	}()
	return nil
}

func feedBatch(ctx context.Context, pool *pgxpool.Pool, c LoadConfig, site uuid.UUID, ids []uuid.UUID, from, n int) error {
	sites := make([]uuid.UUID, n)
	checkIDs := make([]uuid.UUID, n)
	bodies := make([]string, n)
	now := time.Now()
	for i := range n {
		k := from + i
		st := checks.StatusOK
		if c.ProblemEvery > 0 && k%c.ProblemEvery == 0 {
			st = checks.StatusCritical
		}
		body, _ := json.Marshal(checks.Result{Status: st, Output: "bench " + strconv.FormatInt(now.UnixNano(), 10) + " " + strconv.Itoa(k), Started: now})
		sites[i], checkIDs[i], bodies[i] = site, ids[k%len(ids)], string(body)
	}
	// One statement, as the hand-back writes results (store.HandBackResults).
	return store.InsertResults(ctx, pool, sites, checkIDs, bodies)
}
