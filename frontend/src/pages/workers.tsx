// Workers grouped by zone, with liveness.
import * as Q from "../api/queries";
import type { Worker } from "../api/types";
import { ErrorBox, Loading, useLiveRefetch, useNow, useQuery } from "../components/query";
import { ago, dateTime, since } from "../format";

export function WorkersPage() {
  const now = useNow(5000);
  const { data, error, loading, refetch } = useQuery<{ workers: Worker[] }>(Q.WORKERS);
  // Check updates mean workers are at work: refetch live (at most every 5 s). The site-wide
  // subscription brings only changes of state, and heartbeats none, so a poll every 15 s
  // still catches workers that come, go or fall silent (alive means seen within 30 s).
  useLiveRefetch(refetch, { interval: 5000, poll: 15_000 });
  const zones = new Map<string, Worker[]>();
  for (const w of data?.workers ?? []) zones.set(w.zone, [...(zones.get(w.zone) ?? []), w]);
  return (
    <div class="page">
      <div class="page-head">
        <h1>Workers & zones</h1>
        <span class="muted">{data ? `${data.workers.filter((w) => w.alive).length} of ${data.workers.length} alive in ${zones.size} zone${zones.size === 1 ? "" : "s"}` : ""}</span>
      </div>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && zones.size === 0 && <div class="panel empty">No workers have reported in. Start one with <code>bergamot worker --zone default</code>.</div>}
      {[...zones.entries()].sort().map(([zone, ws]) => {
        const alive = ws.filter((w) => w.alive).length;
        return (
          <section class="panel" key={zone}>
            <div class="panel-head">
              <h2>
                Zone <span class="mono">{zone}</span>
              </h2>
              <span class={`chip ${alive === 0 ? "chip-bad" : alive < ws.length ? "chip-warn" : "chip-ok"}`}>
                {alive === 0 ? "✕ no worker alive" : `${alive}/${ws.length} alive`}
              </span>
            </div>
            <div class="table wide-dur" role="table" aria-label={`Workers in zone ${zone}`}>
              {ws.map((w) => (
                <div class="tr" role="row" key={w.id}>
                  <span role="cell" class="c-status">
                    <span class={`badge ${w.alive ? "st-ok" : "st-critical"}`}>
                      <span class="badge-icon" aria-hidden="true">{w.alive ? "✓" : "✕"}</span>
                      <span class="badge-word">{w.alive ? "ALIVE" : "GONE"}</span>
                    </span>
                  </span>
                  <span role="cell" class="c-name">
                    <span class="check-name">{w.name}</span>
                  </span>
                  <span role="cell" class="c-output">{w.engines.join(", ") || "all engines"}</span>
                  <span role="cell" class="c-dur" title={`Started ${dateTime(w.startedAt)} (up ${since(w.startedAt, now)})`}>
                    seen {ago(w.lastSeen, now)}
                  </span>
                </div>
              ))}
            </div>
          </section>
        );
      })}
    </div>
  );
}
