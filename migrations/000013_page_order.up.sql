-- Keyset pagination: each paged list has a total order (its sort key, then
-- id as the tie-break) and a page is the rows after the previous page's
-- last key. These indexes hold the lists' rows in exactly that order, so a
-- page at any depth is read off an index instead of sorting every row of
-- the site (alerts, comments, downtimes and the notification log grow
-- without bound).

-- alerts(open: true): replaces (site_id, opened_at DESC).
DROP INDEX alerts_open_idx;
CREATE INDEX alerts_open_idx ON alerts (site_id, opened_at DESC, id DESC) WHERE recovered_at IS NULL;
-- alerts and alerts(open: false): every alert of the site.
CREATE INDEX alerts_order_idx ON alerts (site_id, opened_at DESC, id DESC);
-- a check's alerts: replaces (site_id, check_id, opened_at DESC).
DROP INDEX alerts_check_idx;
CREATE INDEX alerts_check_idx ON alerts (site_id, check_id, opened_at DESC, id DESC);

-- a check's comments: replaces (site_id, check_id, created_at DESC).
DROP INDEX comments_check_idx;
CREATE INDEX comments_check_idx ON comments (site_id, check_id, created_at DESC, id DESC);
-- an alert's comments.
CREATE INDEX comments_alert_idx ON comments (site_id, alert_id, created_at DESC, id DESC) WHERE alert_id IS NOT NULL;

-- the site's and a check's downtimes.
CREATE INDEX downtimes_order_idx ON downtimes (site_id, starts_at DESC, id DESC);
CREATE INDEX downtimes_check_order_idx ON downtimes (site_id, check_id, starts_at DESC, id DESC);

-- the delivery log: replaces (site_id, at DESC); and one check's.
DROP INDEX notification_log_site_idx;
CREATE INDEX notification_log_site_idx ON notification_log (site_id, at DESC, id DESC);
CREATE INDEX notification_log_check_idx ON notification_log (site_id, check_id, at DESC, id DESC) WHERE check_id IS NOT NULL;
