package rigtest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Token creates an admin user in site and returns an API token for it.
func (c *Cluster) Token(site string) string {
	c.T.Helper()
	var m *tenants.Member
	c.InSite(site, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		m, err = tenants.AddMember(ctx, tx, c.Sites[site], fmt.Sprintf("rig-%d@bergamot.test", time.Now().UnixNano()), "rig-password-123456", tenants.RoleAdmin)
		return err
	})
	tok, err := tenants.NewStore(c.Pool).CreateToken(tenants.WithSite(c.Ctx, c.Sites[site]), m.ID, "rig")
	if err != nil {
		c.T.Fatal(err)
	}
	return tok
}

// Subscriber is a live dashboard: a GraphQL checkUpdated subscription
// over WebSocket to one serve node, which remembers the last state it was
// pushed of every check and, like the dashboard, reconnects when its node
// goes away (to the next address it was given).
type Subscriber struct {
	addrs []string
	token string

	mu       sync.Mutex
	last     map[string]time.Time // check id -> lastCheck pushed
	updates  int
	connects int
	errs     []string
}

// Subscribe starts a subscriber on addrs[0] (falling back to the others).
func (c *Cluster) Subscribe(token string, addrs ...string) *Subscriber {
	s := &Subscriber{addrs: addrs, token: token, last: map[string]time.Time{}}
	go s.run(c.Ctx)
	return s
}

func (s *Subscriber) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		addr := s.addrs[i%len(s.addrs)]
		if err := s.session(ctx, addr); err != nil && ctx.Err() == nil {
			s.mu.Lock()
			if len(s.errs) < 50 {
				s.errs = append(s.errs, err.Error())
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

type gqlMsg struct {
	ID      string         `json:"id,omitempty"`
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload,omitempty"`
}

func (s *Subscriber) session(ctx context.Context, addr string) error {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, "ws://"+addr+"/graphql", http.Header{"Authorization": {"Bearer " + s.token}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("dialling %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := conn.WriteJSON(gqlMsg{Type: "connection_init", Payload: map[string]any{"authorization": "Bearer " + s.token}}); err != nil {
		return err
	}
	if err := conn.WriteJSON(gqlMsg{ID: "1", Type: "subscribe", Payload: map[string]any{
		"query": "subscription { checkUpdated { check { id } state { lastCheck } } }"}}); err != nil {
		return err
	}
	s.mu.Lock()
	s.connects++
	s.mu.Unlock()
	for {
		// A frozen node answers nothing: a dashboard gives up after a while.
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		var m struct {
			Type    string `json:"type"`
			Payload struct {
				Data struct {
					CheckUpdated struct {
						Check struct{ ID string }
						State struct{ LastCheck *time.Time }
					}
				}
				Errors []any
			}
		}
		if err := conn.ReadJSON(&m); err != nil {
			return fmt.Errorf("reading from %s: %w", addr, err)
		}
		switch m.Type {
		case "ping":
			_ = conn.WriteJSON(gqlMsg{Type: "pong"})
		case "next":
			u := m.Payload.Data.CheckUpdated
			if u.State.LastCheck != nil {
				s.mu.Lock()
				if u.State.LastCheck.After(s.last[u.Check.ID]) {
					s.last[u.Check.ID] = *u.State.LastCheck
				}
				s.updates++
				s.mu.Unlock()
			}
		case "error", "complete":
			return fmt.Errorf("subscription on %s ended: %s %v", addr, m.Type, m.Payload.Errors)
		}
	}
}

// Behind lists the checks whose last pushed state is older than the
// database's: empty once the subscriber is in sync with want.
func (s *Subscriber) Behind(want map[string]time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, t := range want {
		if s.last[id].Before(t.Truncate(time.Second)) {
			out = append(out, id)
		}
	}
	return out
}

// Stats says how many updates and connections the subscriber had.
func (s *Subscriber) Stats() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d updates over %d connections (%d errors)", s.updates, s.connects, len(s.errs))
}

// LastChecks reads every service's last_check from the database.
func (c *Cluster) LastChecks() map[string]time.Time {
	c.T.Helper()
	out := map[string]time.Time{}
	rows, err := c.Admin.Query(c.Ctx, `SELECT s.check_id::text, s.last_check FROM check_state s JOIN checks k ON k.id = s.check_id
		WHERE k.kind = 'service' AND s.last_check IS NOT NULL`)
	if err != nil {
		c.T.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, &t); err != nil {
			c.T.Fatal(err)
		}
		out[id] = t
	}
	return out
}

// InSync waits (up to within) until s has been pushed every check's state
// as recent as the database's at the time of the call.
func (c *Cluster) InSync(s *Subscriber, within time.Duration) error {
	want := c.LastChecks()
	deadline := time.Now().Add(within)
	for {
		behind := s.Behind(want)
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d checks behind the database after %s (%s); e.g. %s", len(behind), within, s.Stats(), behind[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
}
