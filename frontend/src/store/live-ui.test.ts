import { afterEach, describe, expect, it, vi } from "vitest";
import { mismatch } from "./filter";
import { RateLimiter } from "./limiter";
import { permissions } from "./permissions";
import { check } from "./testdata";

describe("RateLimiter", () => {
  afterEach(() => vi.useRealTimers());

  it("folds a burst into one run and keeps runs at least an interval apart", () => {
    vi.useFakeTimers();
    let runs = 0;
    const l = new RateLimiter(() => runs++, { interval: 1000, settle: 200 });
    for (let i = 0; i < 1000; i++) l.trigger();
    vi.advanceTimersByTime(199);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1); // the burst: one refetch, 200 ms after it began
    l.trigger();
    vi.advanceTimersByTime(999);
    expect(runs).toBe(1); // not within a second of the last run
    vi.advanceTimersByTime(1);
    expect(runs).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(runs).toBe(2); // nothing triggered, nothing runs: no polling
  });

  it("cancel drops a pending run", () => {
    vi.useFakeTimers();
    let runs = 0;
    const l = new RateLimiter(() => runs++);
    l.trigger();
    expect(l.pending).toBe(true);
    l.cancel();
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
  });
});

describe("permissions", () => {
  it("lets admins do everything, editors all but users, viewers nothing", () => {
    expect(permissions("ADMIN")).toMatchObject({ canEdit: true, canManageUsers: true, editReason: "", usersReason: "" });
    const ed = permissions("EDITOR");
    expect(ed).toMatchObject({ canEdit: true, canManageUsers: false, editReason: "" });
    expect(ed.usersReason).toContain("Only admins");
    const v = permissions("VIEWER");
    expect(v).toMatchObject({ canEdit: false, canManageUsers: false });
    expect(v.editReason).toContain("viewer");
    expect(permissions(null).canEdit).toBe(false);
  });
});

describe("filter re-check after live updates", () => {
  it("says why a row no longer matches, and null while it does", () => {
    const crit = check("a", "CRITICAL");
    expect(mismatch(crit, { problems: true })).toBeNull();
    expect(mismatch(check("a", "OK"), { problems: true })).toBe("recovered: now OK");
    expect(mismatch(check("a", "WARNING"), { status: ["CRITICAL"] })).toBe("now WARNING");
    expect(mismatch(check("a", "CRITICAL", { acknowledged: true }), { acknowledged: false })).toBe("now acknowledged");
    expect(mismatch(check("a", "CRITICAL", { inDowntime: true }), { inDowntime: false })).toBe("now in downtime");
    expect(mismatch(check("a", "CRITICAL", { hard: false }), { hard: true })).toBe("now a soft state");
    // Fields live updates cannot change are the server's business.
    expect(mismatch(crit, { search: "zzz", group: "nope", kind: "HOST" })).toBeNull();
  });
});
