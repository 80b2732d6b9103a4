package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Limits protect the API from expensive requests. Complexity counts one per
// field, times the page size for paged lists (see complexity.go): the
// dashboard's 500-check overview costs about 15,000.
const (
	MaxComplexity = 50000
	MaxDepth      = 12
	MaxBodyBytes  = 8 << 20
	// MaxAnonymousBodyBytes bounds requests without a valid credential
	// (sign-in, sign-up, the landing page's queries): they cannot make the
	// server read, decode or parse more than this.
	MaxAnonymousBodyBytes = 64 << 10
)

// SessionCookie is the browser session cookie's name.
const SessionCookie = "bergamot_session"

// HandlerOptions configure the GraphQL endpoint.
type HandlerOptions struct {
	AllowedOrigins []string
	// Domain: requests to <site>.<Domain> must use credentials of that site.
	Domain string
	// CredentialCheck is how often WebSocket connections re-check their
	// credential (DefaultCredentialCheck when zero).
	CredentialCheck time.Duration
	// PublicURL is the dashboard's address (BERGAMOT_PUBLIC_URL): WebAuthn
	// credentials are bound to its host name. Empty: the host name and
	// scheme each request came with.
	PublicURL string
}

// NewHandler returns the /graphql endpoint: POST and GET over HTTP, and
// WebSocket subscriptions.
func (r *Resolver) NewHandler(o HandlerOptions) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r, Complexity: complexity()}))
	srv.AddTransport(transport.Websocket{
		Implementation:        gorillaWebsocket{allowedOrigins: o.AllowedOrigins, hub: r.Hub},
		KeepAlivePingInterval: 15 * time.Second,
		InitTimeout:           10 * time.Second,
		// The acknowledgement carries no payload: echoing connection_init
		// would send the bearer token back.
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			if auth := p.Authorization(); auth != "" {
				principal, err := r.Tenants.Authenticate(ctx, strings.TrimSpace(strings.TrimPrefix(auth, "Bearer ")))
				if err != nil {
					return refuse(ctx), nil, errors.New("unauthenticated: bad token")
				}
				return r.watchCredential(withConnSubs(tenants.WithPrincipal(ctx, principal)), principal, o.CredentialCheck), nil, nil
			}
			principal, err := tenants.PrincipalFrom(ctx)
			if err != nil {
				return refuse(ctx), nil, errors.New("unauthenticated: send {\"authorization\": \"Bearer <token>\"} in connection_init")
			}
			return r.watchCredential(withConnSubs(ctx), principal, o.CredentialCheck), nil, nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	// The cost limit is the caller's site's query-cost limit (MaxComplexity
	// unless the operator set another).
	srv.Use(&extension.ComplexityLimit{Func: func(ctx context.Context, _ *graphql.OperationContext) int {
		p, err := tenants.PrincipalFrom(ctx)
		if err != nil {
			return MaxComplexity
		}
		v, _ := r.Limits.Get(ctx, p.Site.ID, tenants.LimitQueryCost)
		return int(min(v, int64(1<<31-1)))
	}})
	srv.AroundRootFields(r.aroundRootFields)
	srv.AroundResponses(r.aroundQueryBudget)
	srv.AroundFields(aroundFieldBudget)
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation != nil && depth(oc.Operation.SelectionSet, 0) > MaxDepth {
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
				Message:    fmt.Sprintf("query is nested deeper than %d levels", MaxDepth),
				Extensions: map[string]any{"code": "INVALID"},
			}}})
		}
		return next(ctx)
	})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		ge := graphql.DefaultErrorPresenter(ctx, err)
		inner := err
		var gq *gqlerror.Error
		if errors.As(err, &gq) && gq.Err != nil {
			inner = gq.Err
		}
		if ge.Extensions == nil {
			ge.Extensions = map[string]any{}
		}
		if code, _ := ge.Extensions["code"].(string); code == "COMPLEXITY_LIMIT_EXCEEDED" {
			ge.Extensions["code"] = "INVALID"
			ge.Message += " (limit " + tenants.LimitQueryCost + "): each list costs its page size (first) times what it selects; ask for smaller pages or fewer nested lists"
			return ge
		}
		if code, ok := ge.Extensions["code"].(string); ok && (code == errcode.ValidationFailed || code == errcode.ParseFailed) {
			ge.Extensions["code"] = "INVALID"
			return ge
		}
		if errors.Is(inner, tenants.ErrNoSite) {
			ge.Extensions["code"] = errs.Unauthenticated.Code()
			ge.Message = "sign in or send an API token"
			return ge
		}
		kind := errs.KindOf(inner)
		if kind == errs.Internal {
			if gq == nil || gq.Err != nil || !strings.Contains(ge.Message, "deeper than") {
				var ee *errs.Error
				if !errors.As(inner, &ee) && gq != nil && gq.Err == nil {
					// gqlgen's own errors (complexity, input coercion) are the caller's fault.
					ge.Extensions["code"] = "INVALID"
					return ge
				}
				r.Logger.ErrorContext(ctx, "internal error in GraphQL request", slog.Any("error", err))
				ge.Message = "internal error (logged on the server)"
			}
		}
		ge.Extensions["code"] = kind.Code()
		return ge
	})
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		r.Logger.ErrorContext(ctx, "panic in GraphQL resolver", slog.Any("panic", v))
		return errs.E(errs.Internal, "internal error")
	})
	return withLandingPage(r.authenticate(o, srv))
}

// DefaultCredentialCheck is how often a WebSocket connection re-checks its
// credential: after a logout or a revoked token its subscriptions end
// within this time.
const DefaultCredentialCheck = 5 * time.Second

// watchCredential returns ctx cancelled (closing the WebSocket and every
// subscription on it) once p's credential is no longer valid: logged out,
// expired, revoked, membership removed or site disabled.
func (r *Resolver) watchCredential(ctx context.Context, p *tenants.Principal, every time.Duration) context.Context {
	if every <= 0 {
		every = DefaultCredentialCheck
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := r.Tenants.StillValid(ctx, p)
			if err != nil {
				if ctx.Err() == nil {
					r.Logger.WarnContext(ctx, "re-checking a WebSocket's credential failed; keeping it open", slog.Any("error", err))
				}
				continue
			}
			if !ok {
				r.Logger.InfoContext(ctx, "closing WebSocket: its credential ended", slog.String("site", p.Site.Name), slog.String("via", p.Via))
				return
			}
		}
	}()
	return ctx
}

// refuse makes a refused connection_init close the socket with 4403
// Forbidden, as graphql-transport-ws specifies.
func refuse(ctx context.Context) context.Context {
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, 4403), "Forbidden")
}

func depth(set ast.SelectionSet, d int) int {
	best := d
	for _, s := range set {
		var child ast.SelectionSet
		switch f := s.(type) {
		case *ast.Field:
			child = f.SelectionSet
		case *ast.InlineFragment:
			child = f.SelectionSet
		case *ast.FragmentSpread:
			if f.Definition != nil {
				child = f.Definition.SelectionSet
			}
		}
		if len(child) > 0 {
			if n := depth(child, d+1); n > best {
				best = n
			}
		}
	}
	return best
}

// authenticate puts the caller's principal (from a bearer token or the
// session cookie) in the request context, limits body size, and gives
// resolvers a way to set the session cookie.
func (r *Resolver) authenticate(o HandlerOptions, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if websocket.IsWebSocketUpgrade(req) && !(gorillaWebsocket{allowedOrigins: o.AllowedOrigins}).checkOrigin(req) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":[{"message":"WebSocket connections from this origin are not allowed","extensions":{"code":"FORBIDDEN"}}],"data":null}`))
			return
		}
		// Sign-in throttling counts per TCP peer: X-Forwarded-For is not
		// trusted (anyone can send it).
		ctx := tenants.WithClientAddr(req.Context(), req.RemoteAddr)
		secret := ""
		if h := req.Header.Get("Authorization"); h != "" {
			secret = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
		} else if c, err := req.Cookie(SessionCookie); err == nil {
			secret = c.Value
			ctx = withCSRFToken(ctx, tenants.CSRFToken(secret))
		}
		ctx = tenants.WithUserAgent(ctx, req.UserAgent())
		if secret != "" {
			p, err := r.Tenants.Authenticate(ctx, secret)
			if err == nil && r.hostAllows(ctx, o.Domain, req.Host, p) {
				ctx = tenants.WithPrincipal(ctx, p)
			} else if req.Header.Get("Authorization") != "" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"errors":[{"message":"invalid or revoked token","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`))
				return
			}
		}
		// Authentication comes first (it reads headers only): an anonymous
		// caller may send no more than a sign-in needs.
		limit := int64(MaxBodyBytes)
		if _, err := tenants.PrincipalFrom(ctx); err != nil {
			limit = MaxAnonymousBodyBytes
		}
		if req.ContentLength > limit {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			what := "request body"
			if limit == MaxAnonymousBodyBytes {
				what = "request body without a valid credential"
			}
			_, _ = fmt.Fprintf(w, `{"errors":[{"message":"%s is larger than %d bytes","extensions":{"code":"INVALID"}}],"data":null}`, what, limit)
			return
		}
		req.Body = http.MaxBytesReader(w, req.Body, limit)
		// X-Forwarded-Proto reaches here only from a trusted proxy
		// (server.TrustedProxies removes it from anyone else's requests).
		secure := req.TLS != nil || req.Header.Get("X-Forwarded-Proto") == "https"
		ctx = withRelyingParty(ctx, o.PublicURL, req.Host, secure)
		_, sessionMax := r.Tenants.SessionLifetimes()
		ctx = context.WithValue(ctx, cookieSetterKey{}, CookieSetter(func(token string, clear bool) {
			c := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
				MaxAge: int(sessionMax.Seconds())}
			if clear {
				c.Value, c.MaxAge = "", -1
			}
			http.SetCookie(w, c)
		}))
		ctx = r.withLoaders(ctx)
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// hostAllows refuses credentials of one site on another site's host name.
func (r *Resolver) hostAllows(ctx context.Context, domain, host string, p *tenants.Principal) bool {
	if domain == "" {
		return true
	}
	site, err := r.Tenants.SiteByHost(ctx, host, domain)
	if err != nil {
		return true // not a site host name (the bare service name, say)
	}
	return site.ID == p.Site.ID
}
