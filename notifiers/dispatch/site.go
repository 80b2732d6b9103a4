package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/config/timeperiod"
	"github.com/bergamot-monitoring/bergamot/store"
)

// CredentialPrefix marks a parameter value that refers to a credential:
// "credential:NAME" (its password) or "credential:NAME:field" (username,
// password, key-id or key-secret).
const CredentialPrefix = "credential:"

// siteInfo is what the fan-out needs to know about a site.
type siteInfo struct {
	id       uuid.UUID
	name     string
	params   Params
	contacts map[string]*config.Contact
	parents  map[string][]string // team -> parent teams
	periods  map[string]*timeperiod.Period
	creds    map[string]map[string]string
}

// loadSite reads the site's name, parameters, contacts, teams, time periods
// and (decrypted with sealer) the credentials channel parameters refer to.
func loadSite(ctx context.Context, tx pgx.Tx, site uuid.UUID, sealer *store.Sealer) (*siteInfo, error) {
	s := &siteInfo{id: site, params: Params{}, contacts: map[string]*config.Contact{}, parents: map[string][]string{},
		periods: map[string]*timeperiod.Period{}, creds: map[string]map[string]string{}}
	name, header, err := store.SiteParameters(ctx, tx, site)
	if err != nil {
		return nil, fmt.Errorf("loading site %s: %w", site, err)
	}
	s.name = name
	if header != "" {
		doc, err := config.Parse("site parameters", strings.NewReader(header))
		if err != nil {
			return nil, fmt.Errorf("site parameters: %w", err)
		}
		for _, p := range doc.Parameters {
			s.params[p.AttrValue("name")] = strings.TrimSpace(p.Text)
		}
	}
	specs, err := store.ContactSpecs(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, row := range specs {
		name, mail := row.Name, row.Email
		c := &config.Contact{}
		if err := json.Unmarshal(row.Spec, c); err != nil {
			c = &config.Contact{Notifications: config.Notifications{Enabled: true, Alerts: true, Recovery: true, Acknowledge: true, AllEngines: true}}
		}
		c.Name = name
		if c.Email == "" {
			c.Email = mail
		}
		s.contacts[name] = c
	}
	if err := s.loadTeams(ctx, tx); err != nil {
		return nil, err
	}
	if err := s.loadPeriods(ctx, tx); err != nil {
		return nil, err
	}
	return s, s.loadCredentials(ctx, tx, sealer)
}

func (s *siteInfo) loadTeams(ctx context.Context, tx pgx.Tx) error {
	parents, err := store.TeamParents(ctx, tx)
	if err != nil {
		return err
	}
	s.parents = parents
	return nil
}

func (s *siteInfo) loadPeriods(ctx context.Context, tx pgx.Tx) error {
	periods, err := store.TimePeriods(ctx, tx)
	if err != nil {
		return err
	}
	s.periods = periods
	return nil
}

// credentialNames lists the credentials the site's and contacts'
// parameters refer to.
func (s *siteInfo) credentialNames() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p map[string]string) {
		for k, v := range p {
			name := ""
			switch {
			case strings.HasPrefix(v, CredentialPrefix):
				name, _, _ = strings.Cut(strings.TrimPrefix(v, CredentialPrefix), ":")
			case strings.HasSuffix(k, ".credential"):
				name = v
			}
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	add(s.params)
	for _, c := range s.contacts {
		add(c.Parameters)
	}
	return out
}

func (s *siteInfo) loadCredentials(ctx context.Context, tx pgx.Tx, sealer *store.Sealer) error {
	names := s.credentialNames()
	if len(names) == 0 || sealer == nil {
		return nil
	}
	creds, err := store.OpenCredentials(ctx, tx, sealer, names)
	if err != nil {
		return err
	}
	s.creds = creds
	return nil
}

// ResolveSecrets returns p with credential references replaced by the
// secrets in creds (credential name -> field -> value): a value
// "credential:NAME[:field]" becomes the field (default password), and a
// parameter "<prefix>.credential" = NAME fills "<prefix>.username" and
// "<prefix>.password" when they are not set. An unknown credential is an
// error naming the parameter.
func ResolveSecrets(p Params, creds map[string]map[string]string) (Params, error) {
	out := Params{}
	for k, v := range p {
		out[k] = v
	}
	for k, v := range p {
		switch {
		case strings.HasPrefix(v, CredentialPrefix):
			name, field, _ := strings.Cut(strings.TrimPrefix(v, CredentialPrefix), ":")
			if field == "" {
				field = "password"
			}
			c, ok := creds[name]
			if !ok {
				return nil, fmt.Errorf("parameter %s: no credential named %q", k, name)
			}
			out[k] = c[field]
		case strings.HasSuffix(k, ".credential"):
			c, ok := creds[strings.TrimSpace(v)]
			if !ok {
				return nil, fmt.Errorf("parameter %s: no credential named %q", k, v)
			}
			prefix := strings.TrimSuffix(k, "credential")
			if p[prefix+"username"] == "" {
				out[prefix+"username"] = c["username"]
			}
			if p[prefix+"password"] == "" {
				out[prefix+"password"] = c["password"]
			}
		}
	}
	return out, nil
}

// contactParams merges the site's parameters with the contact's (the
// contact wins) and resolves secrets.
func (s *siteInfo) contactParams(c *config.Contact) (Params, error) {
	p := Params{}
	for k, v := range s.params {
		p[k] = v
	}
	for k, v := range c.Parameters {
		p[k] = v
	}
	return ResolveSecrets(p, s.creds)
}

// inTeam reports whether contact c is a member of team (directly or
// through a sub-team whose ancestors include it).
func (s *siteInfo) inTeam(c *config.Contact, team string) bool {
	for _, t := range c.Teams {
		if s.teamWithin(t, team, 0) {
			return true
		}
	}
	return false
}

func (s *siteInfo) teamWithin(t, ancestor string, depth int) bool {
	if t == ancestor {
		return true
	}
	if depth > 32 {
		return false
	}
	for _, p := range s.parents[t] {
		if s.teamWithin(p, ancestor, depth+1) {
			return true
		}
	}
	return false
}

// inPeriod reports whether now is inside the named period; an empty name
// is always, an unknown one never (the configuration validator reports it).
func (s *siteInfo) inPeriod(name string, now time.Time) bool {
	if name == "" {
		return true
	}
	p, ok := s.periods[name]
	if !ok {
		return false
	}
	return p.Contains(now, func(n string) *timeperiod.Period { return s.periods[n] })
}

// siteCacheTTL is how long a site's contacts and channel settings are
// reused between jobs (a configuration change is seen within it).
const siteCacheTTL = 2 * time.Second

type cachedSite struct {
	info *siteInfo
	at   time.Time
}

// siteCache holds recently loaded sites. Safe for concurrent use; the
// cached siteInfo values are never modified after loading.
type siteCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]cachedSite
}

// load returns the site, from the cache when fresh.
func (c *siteCache) load(ctx context.Context, tx pgx.Tx, site uuid.UUID, sealer *store.Sealer) (*siteInfo, error) {
	c.mu.Lock()
	if e, ok := c.m[site]; ok && time.Since(e.at) < siteCacheTTL {
		c.mu.Unlock()
		return e.info, nil
	}
	c.mu.Unlock()
	info, err := loadSite(ctx, tx, site, sealer)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uuid.UUID]cachedSite{}
	}
	c.m[site] = cachedSite{info: info, at: time.Now()}
	return info, nil
}
