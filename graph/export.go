package graph

import (
	"context"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
)

// metricsExports answers Query.metricsExports: the site's export targets
// and their delivery status.
func (r *Resolver) metricsExports(ctx context.Context) ([]*store.ExportStatus, error) {
	var rows []store.ExportStatus
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, err = store.ExportStatuses(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*store.ExportStatus, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out, nil
}

// redactedURL is raw without user information, query or fragment, which
// may carry secrets (an API key in the query string).
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
