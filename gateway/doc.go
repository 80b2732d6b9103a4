// Package gateway is the worker gateway: remote workers (bergamot worker
// --hub URL --key-file FILE) dial a serve node's /worker WebSocket with a key
// and run the checks of the zone that key serves, without database access.
//
//   - Store owns the zone and key tables: shared_zones and shared_zone_keys
//     (the operator's), worker_keys and worker_connections (a site's, under
//     row-level security).
//   - Hub (every serve node) authenticates workers, runs a River client per
//     zone queue with connected workers, and forwards each job to one of them;
//     results return through jobs' hand-back (same transaction, same NOTIFY).
//   - Remote is the worker's side: reconnects with backoff and jitter over
//     several hubs and keeps results until the node acknowledges them.
//   - The wire protocol lives in gateway/wire.
//
// See docs/workers.md.
package gateway
