// Hosts & services: search, filters and cursor paging over checks(filter, first, after).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { CheckConnection, CheckFilter, CheckKind } from "../api/types";
import { CheckTable } from "../components/checktable";
import { ErrorBox, useFollowChecks, useNow, useQuery } from "../components/query";
import { href, navigate, type Route } from "../router";
import { useApp } from "../store/app";
import { mergeChecks } from "../store/checks";
import { mismatch } from "../store/filter";
import { useStore } from "../store/store";
import { ALL_STATUSES, STATUSES_WORST_FIRST, statusClass, statusIcon, type Status } from "../status";

export const PAGE_SIZE = 100;

/** filterFromQuery reads the page's URL query into a CheckFilter. */
export function filterFromQuery(q: URLSearchParams): CheckFilter {
  const f: CheckFilter = {};
  const yn = (k: string) => (q.get(k) === "yes" ? true : q.get(k) === "no" ? false : undefined);
  const search = q.get("q")?.trim();
  if (search) f.search = search;
  const st = (q.get("status") ?? "").split(",").filter((s) => ALL_STATUSES.includes(s as Status)) as Status[];
  if (st.length) f.status = st;
  const kind = q.get("kind");
  if (kind) f.kind = kind as CheckKind;
  if (q.get("problems") === "yes") f.problems = true;
  for (const [k, name] of [["hard", "hard"], ["ack", "acknowledged"], ["dt", "inDowntime"]] as const) {
    const v = yn(k);
    if (v !== undefined) (f as any)[name] = v;
  }
  for (const k of ["group", "location", "host"] as const) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

const NAMES = `query FilterNames { groups { name } locations { name } }`;

export function ChecksPage({ route }: { route: Route }) {
  const app = useApp();
  const now = useNow(5000);
  const filter = useMemo(() => filterFromQuery(route.query), [route.query.toString()]);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  useEffect(() => setCursors([null]), [JSON.stringify(filter)]);

  const { data, error, loading, refetch } = useQuery<{ checks: CheckConnection }>(Q.CHECKS, { filter, first: PAGE_SIZE, after });
  const names = useQuery<{ groups: { name: string }[]; locations: { name: string }[] }>(NAMES);
  useEffect(() => {
    if (data) app.state.set((s) => mergeChecks(s, data.checks.nodes));
  }, [data]);
  const ids = data?.checks.nodes.map((n) => n.id) ?? [];
  // The site-wide subscription brings only changes of state; each row's output follows the visible checks' own.
  useFollowChecks(ids);
  const rows = useStore(app.state, (s) => ids.map((id) => s.checks.get(id)!).filter(Boolean));

  const set = (k: string, v: string | undefined) => {
    const q = new URLSearchParams(route.query);
    if (v) q.set(k, v);
    else q.delete(k);
    navigate(href("/checks", Object.fromEntries(q)), true);
  };
  const statuses = filter.status ?? [];
  const toggleStatus = (s: Status) => {
    const next = statuses.includes(s) ? statuses.filter((x) => x !== s) : [...statuses, s];
    set("status", next.join(","));
  };

  const [search, setSearch] = useState(route.query.get("q") ?? "");
  const timer = useRef<number>();
  const onSearch = (v: string) => {
    setSearch(v);
    clearTimeout(timer.current);
    timer.current = window.setTimeout(() => set("q", v.trim() || undefined), 250);
  };

  const total = data?.checks.totalCount ?? 0;
  const page = cursors.length;
  const from = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const to = (page - 1) * PAGE_SIZE + rows.length;
  const active = Object.keys(filter).length > 0;
  // Rows that live updates moved out of the filter stay in place, marked, until the next fetch.
  const staleCount = rows.filter((c) => mismatch(c, filter) !== null).length;

  return (
    <div class="page">
      <div class="page-head">
        <h1>Hosts & services</h1>
        <span class="muted">{data ? `${total.toLocaleString()} match${total === 1 ? "" : "es"}` : ""}</span>
        {staleCount > 0 && (
          <button class="btn btn-small btn-ghost stale-refresh" onClick={() => void refetch()} title="Rows marked “no longer matches” changed since the list was loaded">
            {staleCount} no longer match{staleCount === 1 ? "es" : ""} · Refresh
          </button>
        )}
      </div>
      <div class="filters" role="search">
        <input class="search" type="search" placeholder="Search name or summary…" aria-label="Search checks" value={search} onInput={(e) => onSearch(e.currentTarget.value)} />
        <div class="status-filter" role="group" aria-label="Status">
          {STATUSES_WORST_FIRST.filter((s) => s !== "INFO" && s !== "ACTION").map((s) => (
            <button key={s} class={`chip-toggle ${statusClass(s)} ${statuses.includes(s) ? "on" : ""}`} aria-pressed={statuses.includes(s)} onClick={() => toggleStatus(s)}>
              <span aria-hidden="true">{statusIcon(s)}</span> {s}
            </button>
          ))}
        </div>
        <div class="filter-row">
          <Select label="Kind" value={route.query.get("kind")} onChange={(v) => set("kind", v)} options={[["HOST", "Hosts"], ["SERVICE", "Services"], ["TRAP", "Traps"], ["CLUSTER", "Clusters"], ["RESOURCE", "Resources"]]} />
          <Select label="State" value={route.query.get("hard")} onChange={(v) => set("hard", v)} options={[["yes", "Hard"], ["no", "Soft"]]} />
          <Select label="Group" value={route.query.get("group")} onChange={(v) => set("group", v)} options={(names.data?.groups ?? []).map((g) => [g.name, g.name])} />
          <Select label="Location" value={route.query.get("location")} onChange={(v) => set("location", v)} options={(names.data?.locations ?? []).map((g) => [g.name, g.name])} />
          <Select label="Acknowledged" value={route.query.get("ack")} onChange={(v) => set("ack", v)} options={[["yes", "Acknowledged"], ["no", "Not acknowledged"]]} />
          <Select label="Downtime" value={route.query.get("dt")} onChange={(v) => set("dt", v)} options={[["yes", "In downtime"], ["no", "Not in downtime"]]} />
          <label class="toggle">
            <input type="checkbox" checked={filter.problems === true} onChange={(e) => set("problems", e.currentTarget.checked ? "yes" : undefined)} /> Problems only
          </label>
          {active && (
            <button class="btn btn-small btn-ghost" onClick={() => { setSearch(""); navigate("#/checks", true); }}>
              Clear filters
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={error} retry={refetch} />
      <div class={`panel ${loading ? "is-loading" : ""}`}>
        <CheckTable checks={rows} now={now} stale={(c) => mismatch(c, filter)} empty={loading ? "Loading…" : "No checks match these filters."} />
      </div>
      <div class="pager" aria-label="Pages">
        <button class="btn btn-small" disabled={page <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Previous
        </button>
        <span class="muted">{total > 0 ? `${from.toLocaleString()}–${to.toLocaleString()} of ${total.toLocaleString()}` : ""}</span>
        <button class="btn btn-small" disabled={!data?.checks.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, data!.checks.pageInfo.endCursor])}>
          Next →
        </button>
      </div>
    </div>
  );
}

function Select({ label, value, options, onChange }: { label: string; value: string | null; options: string[][]; onChange: (v: string | undefined) => void }) {
  return (
    <label class="select">
      <span class="select-label">{label}</span>
      <select value={value ?? ""} onChange={(e) => onChange(e.currentTarget.value || undefined)}>
        <option value="">Any</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}
