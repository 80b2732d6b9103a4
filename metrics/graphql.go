package metrics

import "github.com/prometheus/client_golang/prometheus"

// Reasons a GraphQL query or mutation was stopped before it finished
// (label reason of bergamot_graphql_stopped_total).
const (
	StoppedRows       = "rows"
	StoppedTime       = "time"
	StoppedClientGone = "client_gone"
)

var (
	graphqlRows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bergamot_graphql_rows_total",
		Help: "Objects returned in list fields by GraphQL queries and mutations (what the query-rows limit counts).",
	})
	graphqlStopped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_graphql_stopped_total",
		Help: "GraphQL queries and mutations stopped before they finished, by reason: rows (the site's query-rows limit), time (query-seconds), client_gone (the caller disconnected).",
	}, []string{"reason"})
)

func init() {
	Registry.MustRegister(graphqlRows, graphqlStopped)
	for _, r := range []string{StoppedRows, StoppedTime, StoppedClientGone} {
		graphqlStopped.WithLabelValues(r)
	}
}

// GraphQLRows counts n objects returned in a list field.
func GraphQLRows(n int) { graphqlRows.Add(float64(n)) }

// GraphQLStopped counts a query stopped for reason.
func GraphQLStopped(reason string) { graphqlStopped.WithLabelValues(reason).Inc() }
