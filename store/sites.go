package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SiteQueuePrefix begins the name of every River queue private to site
// (jobs.QueueFor: "site_<id without dashes>_<zone>").
func SiteQueuePrefix(site uuid.UUID) string {
	return "site_" + strings.ReplaceAll(site.String(), "-", "") + "_"
}

// SiteRows is what an operator's change to a whole site (tenants.Store
// SetSiteDisabled, DeleteSite) asks of the tables the store owns: it
// implements tenants.SiteRows.
type SiteRows struct{}

// PauseSite pauses (or resumes) every scheduled check of site: the
// scheduler claims no paused row.
func (SiteRows) PauseSite(ctx context.Context, tx pgx.Tx, site uuid.UUID, paused bool) error {
	if _, err := tx.Exec(ctx, `UPDATE check_schedule SET paused = $2 WHERE site_id = $1`, site, paused); err != nil {
		return fmt.Errorf("pausing the checks of site %s: %w", site, err)
	}
	return nil
}

// PurgeSiteJobs removes site's River jobs, whatever their state: those
// whose arguments name the site (checks carry "site_id", notifications
// "site") and those in the site's private-zone queues, and the queues.
// Left behind, they would run for a site that no longer exists (and a
// worker of its zone would keep being offered them).
func (SiteRows) PurgeSiteJobs(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
	prefix := SiteQueuePrefix(site)
	if _, err := tx.Exec(ctx, `DELETE FROM river_job WHERE args ->> 'site_id' = $1 OR args ->> 'site' = $1
		OR left(queue, length($2)) = $2`, site.String(), prefix); err != nil {
		return fmt.Errorf("removing the jobs of site %s: %w", site, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM river_queue WHERE left(name, length($1)) = $1`, prefix); err != nil {
		return fmt.Errorf("removing the queues of site %s: %w", site, err)
	}
	return nil
}
