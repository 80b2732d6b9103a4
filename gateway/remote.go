package gateway

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/gorilla/websocket"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/gateway/wire"
)

// Remote is a remote worker (bergamot worker --hub): it dials a serve node's
// gateway, runs the jobs it is sent with the local engines, and returns
// their results. It never touches PostgreSQL. Results are kept until the
// node acknowledges them and resent after a reconnect, so a result finished
// while the link was down arrives once the link is back.
type Remote struct {
	// Hubs are the gateway URLs (ws:// or wss://.../worker), tried in turn.
	Hubs        []string
	Key         string
	TLS         *tls.Config
	Engines     *checks.Registry
	Name        string
	Version     string
	Concurrency int
	Logger      *slog.Logger
	// OnWelcome, when set, is told the zone each accepted connection serves
	// (before any job of it runs), so the worker can choose its policy.
	OnWelcome func(*wire.Welcome)
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (defaults 500ms and 30s), with full jitter.
	MinBackoff, MaxBackoff time.Duration

	mu      sync.Mutex
	conn    *websocket.Conn
	wmu     sync.Mutex // serialises writes on conn
	unacked map[int64]*checks.Result
	slots   chan struct{}
	running sync.WaitGroup
}

// ErrRejected is returned when a node refuses the worker's key.
var ErrRejected = errors.New("the gateway refused this worker's key")

// Run works until ctx ends, reconnecting with backoff and jitter. It
// returns ErrRejected (wrapped) when every hub refuses the key outright.
func (r *Remote) Run(ctx context.Context) error {
	if len(r.Hubs) == 0 {
		return errors.New("no hub URL given")
	}
	r.unacked = map[int64]*checks.Result{}
	r.slots = make(chan struct{}, max(r.Concurrency, 1))
	minB, maxB := cmp.Or(r.MinBackoff, 500*time.Millisecond), cmp.Or(r.MaxBackoff, 30*time.Second)
	backoff := minB
	rejected := 0
	for i := 0; ; i++ {
		url := r.Hubs[i%len(r.Hubs)]
		start := time.Now()
		err := r.session(ctx, url)
		if ctx.Err() != nil { // stopping: the link's error is the stop's
			r.running.Wait()
			return nil //nolint:nilerr // a stop is not a failure
		}
		if errors.Is(err, ErrRejected) {
			rejected++
			if rejected >= len(r.Hubs)*3 {
				return fmt.Errorf("%s: %w", url, err)
			}
		} else {
			rejected = 0
		}
		if time.Since(start) > time.Minute {
			backoff = minB
		}
		wait := minB/2 + rand.N(backoff) // full jitter above a floor
		r.Logger.WarnContext(ctx, "gateway link down; reconnecting", slog.String("hub", url), slog.Any("error", err), slog.Duration("in", wait))
		select {
		case <-ctx.Done():
			r.running.Wait()
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxB)
	}
}

func (r *Remote) session(ctx context.Context, url string) error {
	d := websocket.Dialer{TLSClientConfig: r.TLS, HandshakeTimeout: 15 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, http.Header{"Authorization": {"Bearer " + r.Key}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // the upgrade's or the refusal's body: nothing to read
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return ErrRejected
		}
		return fmt.Errorf("dialling %s: %w", url, err)
	}
	defer conn.Close()
	conn.SetReadLimit(wire.MaxMessage)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := writeMsg(&r.wmu, conn, &wire.Message{Type: wire.TypeHello, Hello: &wire.Hello{Name: r.Name, Version: r.Version,
		Engines: r.Engines.Names(), Concurrency: cap(r.slots)}}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	m, err := readMsg(conn)
	if err != nil {
		return err
	}
	if m.Type == wire.TypeError {
		return fmt.Errorf("%w: %s", ErrRejected, m.Error)
	}
	if m.Type != wire.TypeWelcome {
		return fmt.Errorf("gateway answered %s, want welcome", m.Type)
	}
	if m.Welcome == nil {
		return fmt.Errorf("gateway sent a welcome without its zone")
	}
	r.Logger.InfoContext(ctx, "connected to gateway", slog.String("hub", url), slog.String("zone", m.Welcome.Zone),
		slog.Bool("shared", m.Welcome.Shared), slog.String("node", m.Welcome.Node))
	if r.OnWelcome != nil {
		r.OnWelcome(m.Welcome)
	}
	r.mu.Lock()
	r.conn = conn
	pending := make([]*wire.Result, 0, len(r.unacked))
	for id, res := range r.unacked {
		pending = append(pending, &wire.Result{JobID: id, Result: res})
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.conn == conn {
			r.conn = nil
		}
		r.mu.Unlock()
	}()
	for _, p := range pending {
		if err := writeMsg(&r.wmu, conn, &wire.Message{Type: wire.TypeResult, Result: p}); err != nil {
			return err
		}
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		m, err := readMsg(conn)
		if err != nil {
			return err
		}
		switch m.Type {
		case wire.TypeJob:
			r.start(ctx, m.Job)
		case wire.TypeAck:
			r.mu.Lock()
			for _, id := range m.Ack.JobIDs {
				delete(r.unacked, id)
			}
			r.mu.Unlock()
		case wire.TypePing:
			if err := writeMsg(&r.wmu, conn, &wire.Message{Type: wire.TypePong}); err != nil {
				return err
			}
		case wire.TypeError:
			if strings.Contains(m.Error, "revoked") {
				return fmt.Errorf("%w: %s", ErrRejected, m.Error)
			}
			return fmt.Errorf("gateway: %s", m.Error)
		}
	}
}

// start runs one job in the background; its result is kept until acked and
// sent on whatever link is up when it finishes.
func (r *Remote) start(ctx context.Context, j *wire.Job) {
	r.running.Add(1)
	go func() {
		defer r.running.Done()
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-r.slots }()
		if j.Request.Parameters == nil {
			j.Request.Parameters = map[string]string{}
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.Request.Timeout)
		res := r.Engines.Execute(cctx, j.Request)
		cancel()
		metrics.CheckExecuted(j.Request.Engine, res.Status.String(), res.Runtime)
		res.Worker = r.Name
		r.mu.Lock()
		r.unacked[j.ID] = res
		conn := r.conn
		r.mu.Unlock()
		if conn != nil {
			_ = writeMsg(&r.wmu, conn, &wire.Message{Type: wire.TypeResult, Result: &wire.Result{JobID: j.ID, Result: res}})
		}
	}()
}

func writeMsg(mu *sync.Mutex, conn *websocket.Conn, m *wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, b)
}

func readMsg(conn *websocket.Conn) (*wire.Message, error) {
	_, data, err := conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	return wire.Decode(data)
}
