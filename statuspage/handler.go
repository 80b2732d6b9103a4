package statuspage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Defaults (docs/status-pages.md).
const (
	// DefaultTTL is how long a computed page is served before it is
	// computed again: a status change shows within it.
	DefaultTTL = 10 * time.Second
	// DefaultHistoryTTL is how long the 90-day uptime bars are reused.
	DefaultHistoryTTL = 5 * time.Minute
	// DefaultRate and DefaultBurst limit requests per client address.
	DefaultRate  = 5
	DefaultBurst = 30
	// HistoryDays is the length of the uptime history.
	HistoryDays = 90
	// IncidentDays is how long a resolved incident stays on the page.
	IncidentDays = 14
	// maxEntries bounds each in-memory map (pages, hosts, addresses).
	maxEntries = 10000
)

// DB is what the handler reads through: a pool (row-level security
// confines each page's reads to its site).
type DB interface {
	tenants.Beginner
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Sites finds a site by the name in the URL.
type Sites interface {
	SiteByName(ctx context.Context, name string) (*tenants.Site, error)
}

// Options configure a Handler; zero values take the defaults.
type Options struct {
	DB         DB
	Sites      Sites
	Logger     *slog.Logger
	TTL        time.Duration
	HistoryTTL time.Duration
	// Rate (requests per second) and Burst per client address; a negative
	// Rate turns the limit off.
	Rate  float64
	Burst int
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
}

// Handler serves status pages and their feeds.
type Handler struct {
	o       Options
	flight  singleflight.Group
	mu      sync.Mutex
	pages   map[string]*entry
	history map[string]*historyEntry
	hosts   map[string]*hostEntry
	clients map[netip.Addr]*client
}

// entry is one computed page: the rendered HTML and feed, or the error
// every request within the TTL gets.
type entry struct {
	at   time.Time
	page *Page
	html []byte
	err  error
}

type historyEntry struct {
	at   time.Time
	days map[string][]Day // by component id
}

type hostEntry struct {
	at   time.Time
	site uuid.UUID
	slug string
	ok   bool
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// New makes a Handler.
func New(o Options) *Handler {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.HistoryTTL <= 0 {
		o.HistoryTTL = DefaultHistoryTTL
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{o: o, pages: map[string]*entry{}, history: map[string]*historyEntry{}, hosts: map[string]*hostEntry{},
		clients: map[netip.Addr]*client{}}
}

// Register adds the handler's routes to mux: /status/{site}/{page} and
// /status/{site}/{page}/feed.atom.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /status/{site}/{page}", func(w http.ResponseWriter, r *http.Request) {
		h.serveNamed(w, r, false)
	})
	mux.HandleFunc("GET /status/{site}/{page}/feed.atom", func(w http.ResponseWriter, r *http.Request) {
		h.serveNamed(w, r, true)
	})
}

// Hosts wraps next: a GET of / or /feed.atom on a host name a status page
// claims serves that page; everything else goes to next.
func (h *Handler) Hosts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead || (r.URL.Path != "/" && r.URL.Path != "/feed.atom") {
			next.ServeHTTP(w, r)
			return
		}
		host := hostOnly(r.Host)
		if host == "" || net.ParseIP(host) != nil || !strings.Contains(host, ".") {
			next.ServeHTTP(w, r)
			return
		}
		he, err := h.lookupHost(r.Context(), host)
		if err != nil {
			h.o.Logger.ErrorContext(r.Context(), "status page host lookup", slog.String("host", host), slog.Any("error", err))
			next.ServeHTTP(w, r)
			return
		}
		if !he.ok {
			next.ServeHTTP(w, r)
			return
		}
		if !h.allow(r) {
			tooMany(w)
			return
		}
		h.serve(w, r, he.site, "", he.slug, r.URL.Path == "/feed.atom", "/")
	})
}

func hostOnly(hostport string) string {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(host, ".")
}

func (h *Handler) lookupHost(ctx context.Context, host string) (*hostEntry, error) {
	now := h.o.Now()
	h.mu.Lock()
	he := h.hosts[host]
	h.mu.Unlock()
	if he != nil && now.Sub(he.at) < h.o.TTL {
		return he, nil
	}
	v, err, _ := h.flight.Do("host\x00"+host, func() (any, error) {
		site, slug, ok, err := store.StatusPageByDomain(ctx, h.o.DB, host)
		if err != nil {
			return nil, err
		}
		he := &hostEntry{at: now, site: site, slug: slug, ok: ok}
		h.mu.Lock()
		if len(h.hosts) >= maxEntries {
			clear(h.hosts)
		}
		h.hosts[host] = he
		h.mu.Unlock()
		return he, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*hostEntry), nil
}

func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "too many requests: slow down", http.StatusTooManyRequests)
}

// allow applies the per-address rate limit (an IPv6 client by its /64).
func (h *Handler) allow(r *http.Request) bool {
	if h.o.Rate < 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return true
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	now := h.o.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[a]
	if c == nil {
		if len(h.clients) >= maxEntries {
			for k, v := range h.clients {
				if now.Sub(v.seen) > time.Minute {
					delete(h.clients, k)
				}
			}
			if len(h.clients) >= maxEntries {
				clear(h.clients)
			}
		}
		c = &client{lim: rate.NewLimiter(rate.Limit(h.o.Rate), h.o.Burst)}
		h.clients[a] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

func (h *Handler) serveNamed(w http.ResponseWriter, r *http.Request, feed bool) {
	if !h.allow(r) {
		tooMany(w)
		return
	}
	siteName, slug := strings.ToLower(r.PathValue("site")), strings.ToLower(r.PathValue("page"))
	h.serve(w, r, uuid.Nil, siteName, slug, feed, "/status/"+siteName+"/"+slug)
}

// serve answers from the cache, computing the page once per TTL.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, site uuid.UUID, siteName, slug string, feed bool, base string) {
	key := site.String() + "\x00" + siteName + "\x00" + slug + "\x00" + base
	e := h.cached(r.Context(), key, func(ctx context.Context) *entry {
		return h.compute(ctx, site, siteName, slug, base)
	})
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if e.err != nil {
		w.Header().Set("Cache-Control", "public, max-age=10")
		if errs.Is(e.err, errs.NotFound) {
			http.Error(w, "no such status page", http.StatusNotFound)
			return
		}
		http.Error(w, "the status page could not be computed; try again shortly", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(h.o.TTL/time.Second)))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
	if feed {
		// The feed's links are absolute: rendered per request (cheap, no
		// database) so that no request's Host reaches another's answer.
		atom, err := renderAtom(e.page, absoluteBase(r, base))
		if err != nil {
			h.o.Logger.ErrorContext(r.Context(), "rendering status feed", slog.Any("error", err))
			http.Error(w, "the status feed could not be rendered", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		_, _ = w.Write(atom)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(e.html)
}

func absoluteBase(r *http.Request, base string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(base, "/")
}

// cached returns the entry for key, computing it (once, however many
// requests wait) when it is missing or older than the TTL. The
// computation runs detached from any one request's cancellation.
func (h *Handler) cached(ctx context.Context, key string, compute func(context.Context) *entry) *entry {
	now := h.o.Now()
	h.mu.Lock()
	e := h.pages[key]
	h.mu.Unlock()
	if e != nil && now.Sub(e.at) < h.o.TTL {
		return e
	}
	v, _, _ := h.flight.Do("page\x00"+key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		e := compute(cctx)
		h.mu.Lock()
		if len(h.pages) >= maxEntries {
			clear(h.pages)
		}
		h.pages[key] = e
		h.mu.Unlock()
		return e, nil
	})
	return v.(*entry)
}

// compute reads and renders one page.
func (h *Handler) compute(ctx context.Context, site uuid.UUID, siteName, slug, base string) *entry {
	now := h.o.Now()
	if site == uuid.Nil {
		s, err := h.o.Sites.SiteByName(ctx, siteName)
		if err != nil {
			return &entry{at: now, err: err}
		}
		if s.Disabled || s.Pending {
			return &entry{at: now, err: errs.E(errs.NotFound, "site %q is disabled", siteName)}
		}
		site = s.ID
	}
	p, err := h.read(ctx, site, slug, now)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			h.o.Logger.ErrorContext(ctx, "computing status page", slog.String("site", site.String()), slog.String("page", slug), slog.Any("error", err))
		}
		return &entry{at: now, err: err}
	}
	p.Base, p.Feed = base, strings.TrimSuffix(base, "/")+"/feed.atom"
	html, err := renderHTML(p)
	if err != nil {
		return &entry{at: now, err: err}
	}
	return &entry{at: now, page: p, html: html}
}

// read gathers a page under its site's row-level security.
func (h *Handler) read(ctx context.Context, site uuid.UUID, slug string, now time.Time) (*Page, error) {
	var p *Page
	err := tenants.InSite(tenants.WithSite(ctx, site), h.o.DB, func(ctx context.Context, tx pgx.Tx) error {
		sp, err := store.StatusPageBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		comps, err := store.StatusComponents(ctx, tx, sp.ID)
		if err != nil {
			return err
		}
		members, err := store.ComponentMembers(ctx, tx, comps)
		if err != nil {
			return err
		}
		incidents, err := store.StatusIncidents(ctx, tx, sp.ID, now.Add(-IncidentDays*24*time.Hour), 50)
		if err != nil {
			return err
		}
		days, err := h.days(ctx, tx, site, sp, comps, now)
		if err != nil {
			return err
		}
		p = buildPage(sp, comps, members, days, incidents, now)
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no status page %q", slug)
	}
	return p, err
}

// days are the components' uptime bars, reused for HistoryTTL: the last
// HistoryDays UTC days, today (so far) the last.
func (h *Handler) days(ctx context.Context, tx pgx.Tx, site uuid.UUID, sp *store.StatusPage, comps []*store.StatusComponent, now time.Time) (map[string][]Day, error) {
	key := site.String() + "/" + sp.ID
	h.mu.Lock()
	he := h.history[key]
	h.mu.Unlock()
	if he != nil && now.Sub(he.at) < h.o.HistoryTTL && len(he.days) == len(comps) {
		complete := true
		for _, c := range comps {
			if _, ok := he.days[c.ID]; !ok {
				complete = false
			}
		}
		if complete {
			return he.days, nil
		}
	}
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(HistoryDays - 1))
	out := map[string][]Day{}
	for _, c := range comps {
		avs, err := store.DailyAvailability(ctx, tx, c, from, HistoryDays)
		if err != nil {
			return nil, err
		}
		ds := make([]Day, len(avs))
		for i, a := range avs {
			ds[i] = DayOf(a)
		}
		out[c.ID] = ds
	}
	h.mu.Lock()
	if len(h.history) >= maxEntries {
		clear(h.history)
	}
	h.history[key] = &historyEntry{at: now, days: out}
	h.mu.Unlock()
	return out, nil
}
