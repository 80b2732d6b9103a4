package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// A site's private-zone keys are the site's: `bergamot zone key` without
// --shared manages them through the API (GraphQL createWorkerKey,
// workerKeys, revokeWorkerKey) with an administrator's API token, like the
// dashboard, instead of the operator's database login.

// apiClient calls a serve node's GraphQL API with an API token.
type apiClient struct {
	base  string // http(s)://host[:port]
	token string
	http  *http.Client
}

// apiError is an error the API answered, with its extensions.code.
type apiError struct{ Message, Code string }

func (e *apiError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// newAPIClient takes the API's URL from --url or BERGAMOT_URL and the token
// from --token-file or BERGAMOT_TOKEN.
func newAPIClient(rawURL, tokenFile string) (*apiClient, error) {
	rawURL = cmp.Or(rawURL, os.Getenv("BERGAMOT_URL"), "http://localhost:8080")
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want the server's address, such as https://bergamot.example", rawURL)
	}
	token := os.Getenv("BERGAMOT_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, fmt.Errorf("an administrator's API token is needed: give --token-file FILE or set BERGAMOT_TOKEN (create one on the dashboard's Settings page, or with bergamot token create)")
	}
	return &apiClient{base: strings.TrimSuffix(u.String(), "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do runs one GraphQL operation and decodes its data into out.
func (c *apiClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling the API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the API's answer: %w", err)
	}
	var r struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("the API at %s answered HTTP %d, not GraphQL (is --url the Bergamot server?)", c.base, resp.StatusCode)
	}
	if len(r.Errors) > 0 {
		return &apiError{Message: r.Errors[0].Message, Code: r.Errors[0].Extensions.Code}
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("decoding the API's answer: %w", err)
	}
	return nil
}

// hubURL is the worker gateway on the API's server.
func (c *apiClient) hubURL() string {
	if s, ok := strings.CutPrefix(c.base, "https://"); ok {
		return "wss://" + s + "/worker"
	}
	return "ws://" + strings.TrimPrefix(c.base, "http://") + "/worker"
}

type siteKey struct {
	ID, Name, Zone string
	Key            *string
	CreatedAt      time.Time
	LastSeen       *time.Time
	Revoked        bool
}

func siteKeyCreate(ctx context.Context, c *apiClient, out, info io.Writer, zone, name string) error {
	var res struct{ CreateWorkerKey siteKey }
	if err := c.do(ctx, `mutation($zone: String!, $name: String!) { createWorkerKey(zone: $zone, name: $name) { id name zone key } }`,
		map[string]any{"zone": zone, "name": name}, &res); err != nil {
		return fmt.Errorf("creating a key for zone %s: %w", zone, err)
	}
	k := res.CreateWorkerKey
	if k.Key == nil {
		return fmt.Errorf("the API created key %s but did not return it", k.ID)
	}
	file := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == os.PathSeparator {
			return '-'
		}
		return r
	}, k.Zone) + ".key"
	fmt.Fprintf(info, "key %s (%s) for the site's private zone %s; shown once. On the worker's machine, keep it in %s and run:\n  bergamot worker --hub %s --key-file %s\n",
		k.ID, k.Name, k.Zone, file, c.hubURL(), file)
	fmt.Fprintln(out, *k.Key)
	return nil
}

func siteKeyList(ctx context.Context, c *apiClient, out, info io.Writer) error {
	var res struct{ WorkerKeys []siteKey }
	if err := c.do(ctx, `{ workerKeys { id name zone createdAt lastSeen revoked } }`, nil, &res); err != nil {
		return fmt.Errorf("listing worker keys: %w", err)
	}
	if len(res.WorkerKeys) == 0 {
		fmt.Fprintln(info, "no worker keys; create one with: bergamot zone key create ZONE")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tZONE\tNAME\tCREATED\tLAST SEEN\tSTATE")
	for _, k := range res.WorkerKeys {
		seen, state := "never", "live"
		if k.LastSeen != nil {
			seen = k.LastSeen.UTC().Format(time.RFC3339)
		}
		if k.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Zone, k.Name, k.CreatedAt.UTC().Format(time.RFC3339), seen, state)
	}
	return tw.Flush()
}

func siteKeyRevoke(ctx context.Context, c *apiClient, out io.Writer, id string) error {
	var res struct{ RevokeWorkerKey bool }
	if err := c.do(ctx, `mutation($id: ID!) { revokeWorkerKey(id: $id) }`, map[string]any{"id": id}, &res); err != nil {
		return fmt.Errorf("revoking key %s: %w", id, err)
	}
	fmt.Fprintf(out, "revoked key %s; its workers are disconnected now\n", id)
	return nil
}
