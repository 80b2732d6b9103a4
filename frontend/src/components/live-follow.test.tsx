// Which checkUpdated subscriptions the dashboard opens: one site-wide with
// {changed: true}, and one per page for the checks it shows ({ids}) or the
// problems it lists, resubscribed when the page's rows change.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { CheckSummary } from "../api/types";
import { navigate } from "../router";
import { applyCheckUpdates, initialLiveState, mergeChecks } from "../store/checks";
import { check, fakeApp, fakeSocket, settle, sleep, update, waitFor, type Handler } from "../store/testdata";
import { FOLLOW_DEBOUNCE_MS } from "./query";

const ME = () => ({ me: { id: "u", email: "a@b.c", displayName: "A", role: "ADMIN" }, site: { id: "s", name: "acme", summary: "" } });
const OVERVIEW = () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } });

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  location.hash = "#/";
});
afterEach(() => {
  render(null, root);
  root.remove();
  location.hash = "#/";
});


async function mount(handlers: Record<string, Handler>, hash: string) {
  const sock = fakeSocket();
  const { app, flush, calls } = fakeApp({ Me: ME, Overview: OVERVIEW, ...handlers }, { socket: sock.socket });
  location.hash = hash;
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
  return { app, flush, calls, sock };
}

const page = (nodes: CheckSummary[], endCursor: string | null) => ({ checks: { totalCount: 4, pageInfo: { hasNextPage: endCursor !== null, endCursor }, nodes } });

describe("live subscriptions", () => {
  it("subscribes site-wide to changes only", async () => {
    const { sock } = await mount({ Alerts: () => ({ alerts: [] }) }, "#/alerts");
    expect(sock.checkFilters()).toEqual([{ changed: true }]);
    const queries = sock.subs.map((s) => s.query);
    expect(queries.some((q) => q.includes("alertUpdated"))).toBe(true);
    expect(queries.some((q) => q.includes("notifications"))).toBe(true);
  });

  it("the checks page follows its visible rows, resubscribes when the page changes, and stops on leaving", async () => {
    const [a, b, c, d] = ["b-id", "a-id", "c-id", "d-id"].map((id) => check(id, "OK", {}, id));
    const { sock, flush } = await mount(
      {
        Checks: (v: { after?: string | null }) => (v.after === "p2" ? page([c, d], null) : page([a, b], "p2")),
        FilterNames: () => ({ groups: [], locations: [] }),
        Alerts: () => ({ alerts: [] }),
      },
      "#/checks",
    );
    await waitFor(() => root.querySelectorAll(".checks-table .check-row").length === 2);
    // The first page's rows are followed at once, alongside the site-wide subscription.
    await waitFor(() => sock.checkFilters().length === 2);
    expect(sock.checkFilters()).toEqual([{ changed: true }, { ids: ["a-id", "b-id"] }]);

    // Only the output changed: the site-wide subscription leaves it out, the row's own brings it.
    const follower = sock.subs.find((s) => s.open && String(JSON.stringify(s.variables)).includes("a-id"))!;
    act(() => follower.next({ checkUpdated: update(b, "OK", { output: "a-id: 42 ms" }) }));
    flush();
    const output = (id: string) => root.querySelector(`.check-row[data-check-id="${id}"] .c-output`)!.textContent;
    expect(output("a-id")).toBe("a-id: 42 ms");

    // The next page: after the debounce, its rows are followed instead.
    const next = [...root.querySelectorAll<HTMLButtonElement>(".pager button")].find((x) => x.textContent!.includes("Next"))!;
    await act(async () => next.click());
    await waitFor(() => root.querySelector('.check-row[data-check-id="c-id"]') !== null);
    expect(sock.checkFilters()).toEqual([{ changed: true }, { ids: ["a-id", "b-id"] }]); // not yet: the set must hold first
    await sleep(FOLLOW_DEBOUNCE_MS + 50);
    expect(sock.checkFilters()).toEqual([{ changed: true }, { ids: ["c-id", "d-id"] }]);
    expect(sock.subs.filter((s) => s.query.includes("checkUpdated")).length).toBe(3); // one new subscription, not one per render

    // Leaving the page ends its subscription; the site-wide one stays.
    await act(async () => navigate("#/alerts", true));
    await settle();
    expect(sock.checkFilters()).toEqual([{ changed: true }]);
  });

  it("the check page follows the check, its services and dependencies", async () => {
    const db = check("db", "OK", {}, "postgres");
    const svc = check("svc", "OK", {}, "disk");
    const host = {
      ...check("host", "OK", {}, "web1"), kind: "HOST" as const, host: null, __typename: "Host", description: null, enabled: true, address: "192.0.2.1",
      state: { ...check("host", "OK").state, longOutput: null, flapPercent: 0, worker: null, runtimeMs: null, perfdata: [] },
      services: [svc], dependsOn: [db], history: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }, alerts: [], downtimes: [], comments: [],
    };
    const { sock } = await mount({ CheckDetail: () => ({ check: host }), Metrics: () => ({ check: { id: "host", metrics: [] } }) }, "#/check/host");
    await waitFor(() => root.querySelector("[data-testid=check-title]") !== null);
    await waitFor(() => JSON.stringify(sock.checkFilters()).includes("svc"));
    expect(sock.checkFilters()).toEqual([{ changed: true }, { ids: ["db", "host", "svc"] }]);
    // A hard state shows as such, without the state machine's attempt count
    // (a hard OK's is its recovers-after, which reads like a retry).
    const fact = (label: string) =>
      [...root.querySelectorAll(".fact")].find((f) => f.querySelector(".fact-label")!.textContent === label)?.querySelector(".fact-value")!.textContent;
    expect(fact("State type")).toBe("hard");
    expect(fact("Attempt")).toBeUndefined();
  });

  it("the check page shows a soft state's attempt", async () => {
    const base = check("web", "CRITICAL", { hard: false, attempt: 2 }, "web1");
    const web = {
      ...base, kind: "HOST" as const, host: null, __typename: "Host", description: null, enabled: true, address: "192.0.2.1",
      state: { ...base.state, longOutput: null, flapPercent: 0, worker: null, runtimeMs: null, perfdata: [] },
      services: [], dependsOn: [], history: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }, alerts: [], downtimes: [], comments: [],
    };
    await mount({ CheckDetail: () => ({ check: web }), Metrics: () => ({ check: { id: "web", metrics: [] } }) }, "#/check/web");
    await waitFor(() => root.querySelector("[data-testid=check-title]") !== null);
    const value = [...root.querySelectorAll(".fact")].find((f) => f.querySelector(".fact-label")!.textContent === "State type")!.querySelector(".fact-value")!;
    expect(value.textContent).toBe("soft · attempt 2");
  });

  it("the overview follows the problems it lists", async () => {
    const { sock } = await mount({}, "#/");
    expect(sock.checkFilters()).toEqual([{ changed: true }, { problems: true }]);
  });

  it("a page's subscription survives a reconnect, and the page refetches", async () => {
    const { sock, calls } = await mount(
      { Checks: () => page([check("x", "OK")], null), FilterNames: () => ({ groups: [], locations: [] }) },
      "#/checks",
    );
    await waitFor(() => sock.checkFilters().length === 2);
    const before = calls.filter((c) => c === "Checks").length;
    act(() => sock.resync());
    await waitFor(() => calls.filter((c) => c === "Checks").length === before + 1);
    await sleep(FOLLOW_DEBOUNCE_MS + 50);
    // The same subscriptions, not new ones: the socket re-subscribes them itself.
    expect(sock.checkFilters()).toEqual([{ changed: true }, { ids: ["x"] }]);
    expect(sock.subs.filter((s) => s.query.includes("checkUpdated")).length).toBe(2);
  });
});

describe("two subscriptions for one check", () => {
  it("keeps the newest result when the site-wide copy of an older change arrives late", () => {
    const c = check("a", "OK", { lastCheck: "2026-01-01T00:00:00Z" });
    let s = mergeChecks(initialLiveState(), [c]);
    const crit = update(c, "CRITICAL", { lastCheck: "2026-01-01T00:01:00Z", output: "down" });
    const later = update(check("a", "CRITICAL"), "CRITICAL", { lastCheck: "2026-01-01T00:02:00Z", output: "still down" });
    // The page's subscription: the change, then a later result; then the site-wide copy of the change.
    s = applyCheckUpdates(s, [crit, later]);
    s = applyCheckUpdates(s, [crit]);
    expect(s.checks.get("a")!.state.output).toBe("still down");
    expect(s.checks.get("a")!.state.lastCheck).toBe("2026-01-01T00:02:00Z");
    // An update of the same result (an acknowledgement, say) still applies.
    s = applyCheckUpdates(s, [update(check("a", "CRITICAL"), "CRITICAL", { lastCheck: "2026-01-01T00:02:00Z", output: "still down", acknowledged: true })]);
    expect(s.checks.get("a")!.state.acknowledged).toBe(true);
  });
});
