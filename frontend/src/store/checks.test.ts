import { describe, expect, it } from "vitest";
import { applyAlertUpdates, applyCheckUpdates, compareProblems, displayName, initialLiveState, mergeChecks, problemList, setOverview } from "./checks";
import { check, update } from "./testdata";
import type { Alert } from "../api/types";

function overview(...cs: ReturnType<typeof check>[]) {
  const counts: Record<string, number> = {};
  for (const c of cs) counts[c.state.status] = (counts[c.state.status] ?? 0) + 1;
  let s = setOverview(initialLiveState(), Object.entries(counts).map(([status, count]) => ({ status: status as any, count })), cs.filter((c) => !c.state.ok));
  s = mergeChecks(s, cs);
  return s;
}

describe("live state reducers", () => {
  it("moves counts from the old status to the new and follows the problem set", () => {
    const a = check("a", "OK"), b = check("b", "CRITICAL");
    let s = overview(a, b);
    expect(s.counts!.OK).toBe(1);
    expect(s.counts!.CRITICAL).toBe(1);
    expect([...s.problems]).toEqual(["b"]);

    s = applyCheckUpdates(s, [update(a, "WARNING"), update(b, "OK")]);
    expect(s.counts!.OK).toBe(1);
    expect(s.counts!.WARNING).toBe(1);
    expect(s.counts!.CRITICAL).toBe(0);
    expect([...s.problems]).toEqual(["a"]);
    expect(s.checks.get("a")!.state.status).toBe("WARNING");
  });

  it("counts a never-seen check as new and several updates to one check once", () => {
    let s = overview(check("a", "OK"));
    const n = check("n", "PENDING");
    s = applyCheckUpdates(s, [update(n, "CRITICAL"), update(check("n", "CRITICAL"), "WARNING"), update(check("n", "WARNING"), "OK")]);
    expect(s.counts!.OK).toBe(2);
    expect(s.counts!.CRITICAL + s.counts!.WARNING + s.counts!.PENDING).toBe(0);
    expect(s.problems.size).toBe(0);
  });

  it("asks for a refetch instead of guessing when a new check has no previous status", () => {
    let s = overview(check("a", "OK"));
    const u = update(check("n", "PENDING"), "CRITICAL");
    s = applyCheckUpdates(s, [{ ...u, previous: null }]);
    expect(s.countsStale).toBe(true);
    expect(s.counts!.CRITICAL).toBe(0);
    expect(s.problems.has("n")).toBe(true);
    s = setOverview(s, [{ status: "OK", count: 1 }, { status: "CRITICAL", count: 1 }], [s.checks.get("n")!]);
    expect(s.countsStale).toBe(false);
  });

  it("returns a new state object per batch so subscribers re-render once", () => {
    const s0 = overview(check("a", "OK"));
    const s1 = applyCheckUpdates(s0, [update(check("a", "OK"), "CRITICAL")]);
    expect(s1).not.toBe(s0);
    expect(s1.rev).toBe(s0.rev + 1);
    expect(applyCheckUpdates(s1, [])).toBe(s1);
  });

  it("orders problems: unhandled first, then severity, hard before soft, longest failing first", () => {
    const list = [
      check("warn", "WARNING", { lastStateChange: "2025-01-01T00:00:00Z" }),
      check("crit-new", "CRITICAL", { lastStateChange: "2025-01-02T00:00:00Z" }),
      check("crit-old", "CRITICAL", { lastStateChange: "2025-01-01T00:00:00Z" }),
      check("crit-soft", "CRITICAL", { hard: false, lastStateChange: "2024-01-01T00:00:00Z" }),
      check("err-acked", "ERROR", { acknowledged: true }),
      check("unknown", "UNKNOWN"),
    ];
    expect([...list].sort(compareProblems).map((c) => c.id)).toEqual(["crit-old", "crit-new", "crit-soft", "unknown", "warn", "err-acked"]);
    expect(problemList(overview(...list, check("fine", "OK"))).map((c) => c.id)).toEqual(["crit-old", "crit-new", "crit-soft", "unknown", "warn", "err-acked"]);
  });

  it("keeps the cached acknowledged flag in step with alert updates", () => {
    const c = check("a", "CRITICAL");
    let s = overview(c);
    const alert: Alert = { id: "al1", check: c, status: "CRITICAL", output: "x", openedAt: "", updatedAt: "", recoveredAt: null, acknowledged: true, acknowledgedAt: null, acknowledgedBy: "me", escalationLevel: 0 };
    s = applyAlertUpdates(s, [alert]);
    expect(s.alerts.get("al1")!.acknowledged).toBe(true);
    expect(s.checks.get("a")!.state.acknowledged).toBe(true);
  });

  it("names services host / service", () => {
    expect(displayName(check("x", "OK", {}, "disk"))).toBe("host-x / disk");
    expect(displayName({ name: "web1", host: null, cluster: null })).toBe("web1");
  });

  it("folds 1,000 updates into a 10,000-check site quickly", () => {
    const cs = Array.from({ length: 10_000 }, (_, i) => check("c" + i, i % 10 === 0 ? "CRITICAL" : "OK"));
    let s = overview(...cs);
    const batch = Array.from({ length: 1000 }, (_, i) => update(cs[(i * 7) % cs.length], i % 2 ? "WARNING" : "OK"));
    const t0 = performance.now();
    s = applyCheckUpdates(s, batch);
    const list = problemList(s);
    const ms = performance.now() - t0;
    expect(list.length).toBe(s.problems.size);
    expect(Object.values(s.counts!).reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(ms).toBeLessThan(100); // one frame's worth of work stays far below a frame on a slow CI
  });
});
