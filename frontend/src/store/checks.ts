// Reducers for the live check cache, status counts, problems and alerts.
import type { Alert, CheckSummary, CheckUpdate, StatusCount } from "../api/types";
import { ALL_STATUSES, isProblem, severity, type Status } from "../status";

/** LiveState is the live picture of the site shared by every page. */
export interface LiveState {
  /** rev increases on every change; the check map is updated in place. */
  rev: number;
  checks: Map<string, CheckSummary>;
  /** counts by status, null until the overview query answered. */
  counts: Record<Status, number> | null;
  /** problems: ids of checks whose status is a problem. */
  problems: Set<string>;
  alerts: Map<string, Alert>;
  /** countsStale: an update could not be placed (unknown previous status); refetch the counts. */
  countsStale?: boolean;
}

export function emptyCounts(): Record<Status, number> {
  const c = {} as Record<Status, number>;
  for (const s of ALL_STATUSES) c[s] = 0;
  return c;
}

export function initialLiveState(): LiveState {
  return { rev: 0, checks: new Map(), counts: null, problems: new Set(), alerts: new Map() };
}

/** countsFrom turns the server's list into a full record. */
export function countsFrom(list: StatusCount[]): Record<Status, number> {
  const c = emptyCounts();
  for (const { status, count } of list) c[status] = (c[status] ?? 0) + count;
  return c;
}

/** mergeChecks stores fetched checks in the cache. */
export function mergeChecks(state: LiveState, nodes: CheckSummary[]): LiveState {
  if (nodes.length === 0) return state;
  const problems = new Set(state.problems);
  for (const n of nodes) {
    state.checks.set(n.id, n);
    if (isProblem(n.state.status)) problems.add(n.id);
    else problems.delete(n.id);
  }
  return { ...state, rev: state.rev + 1, problems };
}

/** setOverview replaces counts and the problem set with a fresh server answer. */
export function setOverview(state: LiveState, counts: StatusCount[], problemNodes: CheckSummary[]): LiveState {
  for (const n of problemNodes) state.checks.set(n.id, n);
  const problems = new Set(problemNodes.filter((n) => isProblem(n.state.status)).map((n) => n.id));
  return { ...state, rev: state.rev + 1, counts: countsFrom(counts), problems, countsStale: false };
}

/**
 * older: u is about an earlier result than the cached state. A check a page
 * follows arrives on two subscriptions (the site-wide one for changes of
 * state, the page's for every result), each in order but not in order with
 * each other, so the site-wide copy of a state change may come after the
 * page's copy of a later result.
 */
function older(u: CheckUpdate, cached: CheckSummary | undefined): boolean {
  const had = cached?.state.lastCheck, got = u.state.lastCheck;
  return !!had && !!got && Date.parse(got) < Date.parse(had);
}

/**
 * applyCheckUpdates folds a batch of checkUpdated events into the state:
 * the cache gets the new state, counts move from the old status to the new,
 * and the problem set follows. An update older than the cached state is
 * skipped. One new state object per batch.
 */
export function applyCheckUpdates(state: LiveState, updates: CheckUpdate[]): LiveState {
  if (updates.length === 0) return state;
  const counts = state.counts ? { ...state.counts } : null;
  const problems = new Set(state.problems);
  let stale = false;
  for (const u of updates) {
    const id = u.check.id;
    const cached = state.checks.get(id);
    if (older(u, cached)) continue;
    const before: Status | undefined = cached?.state.status ?? u.previous?.status ?? undefined;
    const after = u.state.status;
    if (counts) {
      if (before === undefined) stale = true; // never seen and no previous: only the server knows
      else if (before !== after) {
        counts[before] = Math.max(0, counts[before] - 1);
        counts[after] += 1;
      }
    }
    state.checks.set(id, { ...(cached ?? {}), ...u.check, state: { ...(cached?.state ?? {}), ...u.check.state, ...u.state } });
    if (isProblem(after)) problems.add(id);
    else problems.delete(id);
  }
  return { ...state, rev: state.rev + 1, counts, problems, countsStale: state.countsStale || stale };
}

/** applyAlertUpdates stores alerts and keeps the cached check's acknowledged flag in step. */
export function applyAlertUpdates(state: LiveState, alerts: Alert[]): LiveState {
  if (alerts.length === 0) return state;
  const map = new Map(state.alerts);
  for (const a of alerts) {
    map.set(a.id, a);
    const c = state.checks.get(a.check.id);
    if (c && !a.recoveredAt && c.state.acknowledged !== a.acknowledged) {
      state.checks.set(c.id, { ...c, state: { ...c.state, acknowledged: a.acknowledged } });
    }
  }
  return { ...state, rev: state.rev + 1, alerts: map };
}

/** handled: someone already knows (acknowledged, downtime, suppressed). */
export function handled(c: CheckSummary): boolean {
  return c.state.acknowledged || c.state.inDowntime || c.state.suppressed;
}

function changedAt(c: CheckSummary): number {
  const t = c.state.lastStateChange ? Date.parse(c.state.lastStateChange) : NaN;
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

/**
 * compareProblems orders the problems list: unhandled before handled, then
 * worst severity first, hard before soft, then longest-failing first, then name.
 */
export function compareProblems(a: CheckSummary, b: CheckSummary): number {
  return (
    Number(handled(a)) - Number(handled(b)) ||
    severity(b.state.status) - severity(a.state.status) ||
    Number(b.state.hard) - Number(a.state.hard) ||
    changedAt(a) - changedAt(b) ||
    displayName(a).localeCompare(displayName(b))
  );
}

/** problemList returns the sorted problem checks. */
export function problemList(state: LiveState): CheckSummary[] {
  const out: CheckSummary[] = [];
  for (const id of state.problems) {
    const c = state.checks.get(id);
    if (c && isProblem(c.state.status)) out.push(c);
  }
  return out.sort(compareProblems);
}

/** displayName is "host / service" for services and traps, the name otherwise. */
export function displayName(c: Pick<CheckSummary, "name" | "host" | "cluster">): string {
  if (c.host) return `${c.host.name} / ${c.name}`;
  if (c.cluster) return `${c.cluster.name} / ${c.name}`;
  return c.name;
}

/** totalChecks sums the counts. */
export function totalChecks(counts: Record<Status, number> | null): number {
  if (!counts) return 0;
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
