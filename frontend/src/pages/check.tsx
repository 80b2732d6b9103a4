// Check detail: state, output, perfdata charts, history timeline, alerts,
// downtimes, comments, and the actions an operator takes.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { CheckDetail, MetricSeries, StateChange } from "../api/types";
import { AvailabilityPanel } from "../components/availability";
import { Chart } from "../components/chart";
import { CheckTable } from "../components/checktable";
import { ErrorBox, Loading, useFollowChecks, useNow, useQuery } from "../components/query";
import { Flags, StatusBadge } from "../components/status";
import { ago, dateTime, duration, since } from "../format";
import { useApp } from "../store/app";
import { displayName, mergeChecks } from "../store/checks";
import { useStore } from "../store/store";
import { statusClass, statusWord, type Status } from "../status";
import { usePermissions } from "../store/permissions";
import { CheckActions } from "./check-actions";

export const RANGES: { key: string; label: string; ms: number }[] = [
  { key: "1h", label: "1 hour", ms: 3600e3 },
  { key: "6h", label: "6 hours", ms: 6 * 3600e3 },
  { key: "24h", label: "24 hours", ms: 24 * 3600e3 },
  { key: "7d", label: "7 days", ms: 7 * 86400e3 },
  { key: "30d", label: "30 days", ms: 30 * 86400e3 },
];

/** POINTS is how many points a chart asks for over its range. */
const POINTS = 240;

export function CheckPage({ id }: { id: string }) {
  const app = useApp();
  const now = useNow(5000);
  const { data, error, loading, refetch } = useQuery<{ check: CheckDetail | null }>(Q.CHECK_DETAIL, { id });
  const detail = data?.check ?? null;
  useEffect(() => {
    if (detail) app.state.set((s) => mergeChecks(s, [detail, ...(detail.services ?? []), ...(detail.dependsOn ?? [])]));
  }, [detail]);

  // Live: the cached summary follows checkUpdated; refetch details when the state moves.
  const live = useStore(app.state, (s) => s.checks.get(id) ?? null);
  const liveKey = live ? `${live.state.status}|${live.state.lastStateChange}|${live.state.acknowledged}|${live.state.inDowntime}|${live.state.suppressed}|${live.state.lastCheck}` : "";
  const first = useRef(true);
  useEffect(() => {
    if (first.current || !liveKey) {
      first.current = false;
      return;
    }
    const t = setTimeout(() => void refetch(), 400);
    return () => clearTimeout(t);
  }, [liveKey]);
  const serviceIds = detail?.services?.map((s) => s.id) ?? [];
  const services = useStore(app.state, (s) => serviceIds.map((i) => s.checks.get(i)!).filter(Boolean));
  const depIds = detail?.dependsOn?.map((d) => d.id) ?? [];
  const deps = useStore(app.state, (s) => depIds.map((i) => s.checks.get(i)!).filter(Boolean));
  // Every result of this check, its services and dependencies (output, last check), not only changes of state.
  useFollowChecks([id, ...serviceIds, ...depIds]);

  if (error && !detail) return <div class="page"><ErrorBox error={error} retry={refetch} /></div>;
  if (!detail) return <div class="page">{loading ? <Loading /> : <div class="empty">No such check. It may have been removed from the configuration.</div>}</div>;

  const c = live ? { ...detail, ...live, state: { ...detail.state, ...live.state } } : detail;
  const s = c.state;
  return (
    <div class="page check-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="#/checks">Hosts & services</a>
        {c.host && (
          <>
            <span aria-hidden="true"> / </span>
            <a href={`#/check/${encodeURIComponent(c.host.id)}`}>{c.host.name}</a>
          </>
        )}
      </nav>
      <header class={`check-head ${statusClass(s.status)}`} data-status={s.status} data-last-check={s.lastCheck ?? ""}>
        <div class="check-head-main">
          <StatusBadge status={s.status} soft={!s.hard && !s.ok} />
          <h1 data-testid="check-title">{displayName(c)}</h1>
          <span class="check-kind">{c.kind.toLowerCase()}</span>
          <Flags check={c} />
        </div>
        <p class="check-output" data-testid="check-output">{s.output || <span class="muted">(no output yet)</span>}</p>
        <div class="check-facts">
          <Fact label="For" value={since(s.lastStateChange, now)} title={dateTime(s.lastStateChange)} />
          <Fact label="Last check" value={ago(s.lastCheck, now)} title={dateTime(s.lastCheck)} />
          <Fact
            label="State type"
            value={s.hard ? "hard" : `soft · attempt ${s.attempt}`}
            title={s.hard ? "Hard state: confirmed" : "Soft state: not yet confirmed; it goes hard after the check's failed-after (or recovers-after) results"}
          />
          {s.worker && <Fact label="Worker" value={s.worker} />}
          {s.runtimeMs != null && <Fact label="Runtime" value={`${Math.round(s.runtimeMs)} ms`} />}
          {s.flapPercent != null && s.flapPercent > 0 && <Fact label="Flapping" value={`${s.flapPercent.toFixed(0)}%`} />}
          {c.address && <Fact label="Address" value={c.address} />}
          {c.engine && <Fact label="Engine" value={c.engine + (c.command ? ` · ${c.command}` : "")} />}
          {c.location && <Fact label="Location" value={c.location} href={`#/checks?location=${encodeURIComponent(c.location)}`} />}
          {c.groups.length > 0 && <Fact label="Groups" value={c.groups.join(", ")} />}
        </div>
        <CheckActions check={c} downtimes={detail.downtimes} onChanged={refetch} />
      </header>

      {s.longOutput && (
        <section class="panel">
          <h2>Long output</h2>
          <pre class="long-output">{s.longOutput}</pre>
        </section>
      )}

      {c.kind === "HOST" && (
        <section class="panel">
          <h2>Services <span class="count">{services.length}</span></h2>
          <CheckTable checks={services} now={now} showHost={false} empty="This host has no services." />
        </section>
      )}

      {deps.length > 0 && (
        <section class="panel" data-testid="depends-on">
          <h2>Depends on <span class="count">{deps.length}</span></h2>
          <p class="muted">
            {s.encompassed
              ? "A dependency is down: this check is encompassed and raises no alert of its own."
              : "While one of these is down, this check is encompassed and raises no alert of its own; while one is changing, this check waits before going hard."}
          </p>
          <CheckTable checks={deps} now={now} showHost={true} empty="" />
        </section>
      )}

      <Metrics id={id} detail={detail} />
      <AvailabilityPanel checkId={id} />
      <History nodes={detail.history.nodes} current={s.status} now={now} />

      <div class="two-col">
        <section class="panel">
          <h2>Alerts</h2>
          {detail.alerts.length === 0 ? (
            <div class="empty">No alerts.</div>
          ) : (
            <ul class="list">
              {detail.alerts.map((a) => (
                <li key={a.id} class="list-item">
                  <StatusBadge status={a.status} small />
                  <span class="grow">{a.output}</span>
                  <span class="muted small">
                    {a.recoveredAt ? `recovered ${ago(a.recoveredAt, now)}` : `open ${since(a.openedAt, now)}`}
                    {a.acknowledged && ` · ack by ${a.acknowledgedBy ?? "someone"}`}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </section>
        <Comments id={id} comments={detail.comments} onAdded={refetch} />
      </div>
    </div>
  );
}

function Fact({ label, value, title, href }: { label: string; value: string; title?: string; href?: string }) {
  return (
    <div class="fact" title={title}>
      <span class="fact-label">{label}</span>
      {href ? <a class="fact-value" href={href}>{value}</a> : <span class="fact-value">{value}</span>}
    </div>
  );
}

function Metrics({ id, detail }: { id: string; detail: CheckDetail }) {
  const [range, setRange] = useState("24h");
  const { ms, label: rangeLabel } = RANGES.find((r) => r.key === range)!;
  const vars = useMemo(() => {
    const to = new Date();
    return { id, from: new Date(to.getTime() - ms).toISOString(), to: to.toISOString(), points: POINTS };
  }, [id, ms]);
  const { data, error, loading, refetch } = useQuery<{ check: { metrics: MetricSeries[] } | null }>(Q.METRICS, vars);
  const perf = detail.state.perfdata ?? [];
  const series = data?.check?.metrics ?? [];
  if (perf.length === 0 && series.length === 0 && !loading) return null;
  return (
    <section class="panel" aria-labelledby="perf-title">
      <div class="panel-head">
        <h2 id="perf-title">Performance data</h2>
        <div class="seg" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r.key} class={range === r.key ? "on" : ""} aria-pressed={range === r.key} onClick={() => setRange(r.key)} title={r.label}>
              {r.key}
            </button>
          ))}
        </div>
      </div>
      {perf.length > 0 && (
        <div class="perf-now">
          {perf.map((p) => (
            <div class="fact" key={p.label}>
              <span class="fact-label">{p.label}</span>
              <span class="fact-value">
                {p.value ?? "U"}
                {p.uom ?? ""}
                {(p.warn || p.crit) && <span class="muted small"> (warn {p.warn || "—"}, crit {p.crit || "—"})</span>}
              </span>
            </div>
          ))}
        </div>
      )}
      <ErrorBox error={error} retry={refetch} />
      <div class="charts">
        {series.map((sr) => {
          const p = perf.find((x) => x.label === sr.label);
          return (
            <figure class="chart-box" key={sr.label}>
              <figcaption>
                {sr.label}
                {sr.uom ? ` (${sr.uom})` : ""}
              </figcaption>
              {sr.points.length > 1 ? (
                <Chart series={sr} warn={p?.warn} crit={p?.crit} />
              ) : (
                <div class="empty small" data-testid="chart-empty">
                  {sr.points.length === 0
                    ? `No data in the last ${rangeLabel}.`
                    : `Only one point so far in the last ${rangeLabel} (each point covers ${duration(ms / POINTS)}); a chart needs two.`}
                  {range !== "1h" && (
                    <>
                      {" "}
                      <button class="link-btn" onClick={() => setRange("1h")}>Show the last hour</button>
                    </>
                  )}
                </div>
              )}
            </figure>
          );
        })}
      </div>
    </section>
  );
}

/** segments turns newest-first state changes into timeline spans over [from, now]. */
export function segments(nodes: StateChange[], current: Status, from: number, now: number): { status: Status | null; start: number; end: number }[] {
  const asc = [...nodes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const out: { status: Status | null; start: number; end: number }[] = [];
  // Before its first recorded change from PENDING the check did not exist yet: null, drawn empty.
  let status: Status | null = asc.length ? (asc[0].previous === "PENDING" ? null : asc[0].previous) : current;
  let start = from;
  for (const n of asc) {
    const t = Date.parse(n.at);
    if (t <= from) {
      status = n.status;
      continue;
    }
    if (t > now) break;
    if (t > start) out.push({ status, start, end: t });
    status = n.status;
    start = t;
  }
  if (now > start) out.push({ status, start, end: now });
  return out;
}

/** History is the check page's state timeline and list of state changes. */
export function History({ nodes, current, now }: { nodes: StateChange[]; current: Status; now: number }) {
  const [range, setRange] = useState("24h");
  const ms = RANGES.find((r) => r.key === range)!.ms;
  const segs = segments(nodes, current, now - ms, now);
  return (
    <section class="panel" aria-labelledby="hist-title">
      <div class="panel-head">
        <h2 id="hist-title">State history</h2>
        <div class="seg" role="group" aria-label="Timeline range">
          {RANGES.map((r) => (
            <button key={r.key} class={range === r.key ? "on" : ""} aria-pressed={range === r.key} onClick={() => setRange(r.key)}>
              {r.key}
            </button>
          ))}
        </div>
      </div>
      <div class="timeline" role="img" aria-label={`Timeline: ${segs.map((s) => (s.status ? statusWord(s.status) : "no data")).join(", then ")}`}>
        {segs.map((s, i) =>
          s.status === null ? (
            <span key={i} class="timeline-gap" style={{ flexGrow: Math.max(1, s.end - s.start) }} title="No data: the check did not exist yet" />
          ) : (
            <span key={i} class={`timeline-seg ${statusClass(s.status)}`} style={{ flexGrow: Math.max(1, s.end - s.start) }} title={`${s.status} from ${dateTime(new Date(s.start).toISOString())} for ${since(new Date(s.start).toISOString(), s.end)}`} />
          ),
        )}
      </div>
      <div class="timeline-axis muted small">
        <span>{RANGES.find((r) => r.key === range)!.label} ago</span>
        <span>now</span>
      </div>
      {nodes.length === 0 ? (
        <div class="empty">No state changes yet.</div>
      ) : (
        <ol class="list history-list">
          {nodes.slice(0, 30).map((n, i) => (
            <li key={i} class="list-item">
              <span class="muted small mono">{dateTime(n.at)}</span>
              <StatusBadge status={n.previous} small />
              <span aria-hidden="true">→</span>
              <span class="sr-only">to</span>
              <StatusBadge status={n.status} small soft={!n.hard} />
              <span class={`chip state-type ${n.hard ? "chip-hard" : "chip-soft"}`} title={n.hard ? "Hard state: confirmed" : `Soft state: attempt ${n.attempt}, may still recover`}>
                {n.hard ? "hard" : "soft"}
              </span>
              <span class="grow ellipsis" title={n.output}>{n.output}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Comments({ id, comments, onAdded }: { id: string; comments: CheckDetail["comments"]; onAdded: () => void }) {
  const app = useApp();
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const perm = usePermissions();
  const add = async (e: Event) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    try {
      await app.client.request(Q.ADD_COMMENT, { checkId: id, body });
      setBody("");
      onAdded();
    } catch (err) {
      app.toast({ kind: "error", title: "Could not add the comment", body: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel">
      <h2>Comments</h2>
      {comments.length === 0 && <div class="empty">No comments.</div>}
      <ul class="list">
        {comments.map((c) => (
          <li key={c.id} class="list-item comment">
            <span class="grow">{c.body}</span>
            <span class="muted small">
              {c.author} · {ago(c.createdAt)}
            </span>
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={add}>
        <input aria-label="New comment" placeholder={perm.canEdit ? "Add a comment…" : "Viewers cannot add comments"} disabled={!perm.canEdit} title={perm.editReason || undefined} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        <button class="btn btn-small" data-action="comment" disabled={!perm.canEdit || busy || !body.trim()} title={perm.editReason || undefined}>
          Add
        </button>
      </form>
    </section>
  );
}
