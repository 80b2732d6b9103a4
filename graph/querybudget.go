package graph

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// A query's cost estimate (complexity.go) is made before it runs and can
// only guess the size of lists without a page size (a host's services, a
// cluster's resources). queryBudget bounds what the query really does:
// every list a field returns charges its length to the site's query-rows
// limit, the whole query may run for query-seconds, and it stops as soon
// as its caller disconnects. When any of these ends it, its context is
// cancelled, so the database queries in flight stop too and the fields
// not yet resolved fail at once instead of running on for nobody.
type queryBudget struct {
	rows atomic.Int64
	max  int64
	stop context.CancelCauseFunc
}

type budgetKey struct{}

// errRowsSpent and errTimeSpent are the causes a budget stops a query with.
var (
	errRowsSpent = errors.New("query-rows spent")
	errTimeSpent = errors.New("query-seconds spent")
)

// aroundQueryBudget gives each query and mutation its budget (subscriptions
// have their own limits and live as long as their connection).
func (r *Resolver) aroundQueryBudget(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx) // a request refused before it was parsed
	}
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	rows, secs := limitDefault(tenants.LimitQueryRows), limitDefault(tenants.LimitQuerySeconds)
	if p, err := tenants.PrincipalFrom(ctx); err == nil && r.Limits != nil {
		rows, _ = r.Limits.Get(ctx, p.Site.ID, tenants.LimitQueryRows)
		secs, _ = r.Limits.Get(ctx, p.Site.ID, tenants.LimitQuerySeconds)
	}
	parent := ctx
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if secs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(secs)*time.Second, errTimeSpent)
		defer cancel()
	}
	resp := next(context.WithValue(ctx, budgetKey{}, &queryBudget{max: rows, stop: stop}))
	switch cause := context.Cause(ctx); {
	case cause == nil:
	case errors.Is(cause, errRowsSpent):
		metrics.GraphQLStopped(metrics.StoppedRows)
	case errors.Is(cause, errTimeSpent):
		metrics.GraphQLStopped(metrics.StoppedTime)
	case parent.Err() != nil:
		metrics.GraphQLStopped(metrics.StoppedClientGone)
	}
	return resp
}

// aroundFieldBudget charges each list a field returns and refuses to
// resolve further fields once the query's budget is spent or its caller
// gone.
func aroundFieldBudget(ctx context.Context, next graphql.Resolver) (any, error) {
	b, _ := ctx.Value(budgetKey{}).(*queryBudget)
	if b == nil {
		return next(ctx)
	}
	if err := b.spent(ctx); err != nil {
		return nil, err
	}
	res, err := next(ctx)
	if err != nil && ctx.Err() != nil {
		// The database statement was cancelled with the query: say why.
		return nil, b.spent(ctx)
	}
	if n := listLen(res); n > 0 {
		metrics.GraphQLRows(n)
		if total := b.rows.Add(int64(n)); b.max > 0 && total > b.max {
			b.stop(errRowsSpent)
			return nil, b.spent(ctx)
		}
	}
	return res, err
}

// spent explains why the query may not go on, or returns nil.
func (b *queryBudget) spent(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errRowsSpent):
		return errs.E(errs.Invalid, "query stopped: it read more than %d objects (limit %s); ask for smaller pages or fewer nested lists", b.max, tenants.LimitQueryRows)
	case errors.Is(cause, errTimeSpent):
		return errs.E(errs.Invalid, "query stopped: it ran longer than the site's limit (%s); ask for less at once", tenants.LimitQuerySeconds)
	default:
		return fmt.Errorf("query stopped: %w", cause)
	}
}

// listLen is the length of v when it is a slice, else 0.
func listLen(v any) int {
	if v == nil {
		return 0
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		return rv.Len()
	}
	return 0
}

// limitDefault is the built-in default of the named site limit.
func limitDefault(name string) int64 {
	l, _ := tenants.SiteLimitDef(name)
	return l.Default
}
