// Builders for test checks (used by the unit tests only).
import { act } from "preact/test-utils";
import type { LiveOptions } from "../api/live";
import type { CheckSummary, CheckUpdate, Role } from "../api/types";
import type { Status } from "../status";
import { App, type LiveSocket } from "./app";

/** Answers one GraphQL operation (by name) with its data. */
export type Handler = (vars: any) => unknown;

/**
 * An App fed by an in-process GraphQL responder: each request is answered by
 * the handler named like its operation (an INVALID error when there is none).
 * calls lists the operations asked for; flush runs the frames the App
 * scheduled (live updates are batched per animation frame).
 */
export function fakeApp(handlers: Record<string, Handler>, opts: { socket?: (o: LiveOptions) => LiveSocket } = {}) {
  const frames: (() => void)[] = [];
  const calls: string[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    const { query, variables } = JSON.parse(String(init.body));
    const op = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? "";
    calls.push(op);
    const h = handlers[op];
    // A handler answers data, or { __errors: [...] } for a GraphQL error answer.
    const out = h ? h(variables) : { __errors: [{ message: `no handler for ${op}`, extensions: { code: "INVALID" } }] };
    const body = out && typeof out === "object" && "__errors" in out ? { errors: out.__errors } : { data: out };
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  }) as unknown as typeof fetch;
  const tokens = { v: "tok" as string | null, get() { return this.v; }, set(t: string | null) { this.v = t; } };
  const app = new App({ fetch: fetchFn, tokens, live: false, socket: opts.socket, schedule: (cb) => frames.push(cb) });
  return { app, calls, flush: () => act(() => { while (frames.length) frames.shift()!(); }) };
}

/**
 * fakeApp for a page test: signed in as a member with role (Me) of site
 * "acme" with no checks (Overview), unless handlers answer those already.
 */
export function signedInApp(handlers: Record<string, Handler>, role: Role = "VIEWER") {
  const me = { id: "u", email: "a@b.c", displayName: "A", role };
  handlers.Me ??= () => ({ me, site: { id: "s", name: "acme", summary: "" } });
  handlers.Overview ??= () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } });
  return { ...fakeApp(handlers), me };
}

export function check(id: string, status: Status, extra: Partial<CheckSummary["state"]> = {}, name = id): CheckSummary {
  const ok = ["OK", "INFO", "PENDING", "ACTION"].includes(status);
  return {
    __typename: "Service", id, kind: "SERVICE", name, summary: null, groups: [], location: null, host: { id: "h-" + id, name: "host-" + id },
    state: { status, ok, hard: true, attempt: 1, output: `${status} output`, lastCheck: null, lastStateChange: "2025-01-01T00:00:00Z", flapping: false, acknowledged: false, inDowntime: false, suppressed: false, ...extra },
  };
}

export function update(c: CheckSummary, status: Status, extra: Partial<CheckSummary["state"]> = {}): CheckUpdate {
  const next = check(c.id, status, { lastStateChange: new Date().toISOString(), ...extra }, c.name);
  return { check: { ...c, state: next.state }, previous: { status: c.state.status }, state: next.state };
}

/** One subscription opened on a FakeSocket. */
export interface FakeSub {
  query: string;
  variables: Record<string, unknown> | undefined;
  /** next delivers data to the subscriber, as the server would. */
  next: (data: unknown) => void;
  open: boolean;
}

/**
 * fakeSocket stands in for the live socket (App's socket option): it
 * records the subscriptions opened and closed, delivers data to them, and
 * can report a reconnect (resync).
 */
export function fakeSocket() {
  const subs: FakeSub[] = [];
  let opts: LiveOptions | null = null;
  const socket = (o: LiveOptions): LiveSocket => {
    opts = o;
    o.onState("live");
    return {
      subscribe: (query: string, variables: Record<string, unknown> | undefined, next: (d: any) => void) => {
        const s: FakeSub = { query, variables, next, open: true };
        subs.push(s);
        return () => {
          s.open = false;
        };
      },
      dispose: () => {},
    };
  };
  /** checkFilters lists the filters of the open checkUpdated subscriptions. */
  const checkFilters = () => subs.filter((s) => s.open && s.query.includes("checkUpdated")).map((s) => (s.variables as { filter?: unknown } | undefined)?.filter);
  return { socket, subs, checkFilters, resync: () => opts?.onResync() };
}

/** settle lets pending effects, fetches and renders run (a few macrotask turns). */
export async function settle() {
  for (let i = 0; i < 5; i++) await act(() => new Promise((r) => setTimeout(r, 0)));
}

/** sleep waits ms inside act, so renders it causes are flushed. */
export const sleep = (ms: number) => act(() => new Promise<void>((r) => setTimeout(r, ms)));

/** waitFor polls cond every 20 ms until it holds, failing after ms. */
export async function waitFor(cond: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}
