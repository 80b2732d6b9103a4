// The SLAs page against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { SLA } from "../api/types";
import type { App } from "../store/app";
import { signedInApp, settle, waitFor } from "../store/testdata";
import { budgetLabel, percent, slaState } from "./slas";

const base: SLA = {
  id: "s1", name: "web-month", subject: "web", subjectKind: "group", checkId: null, target: 99, period: "month", timeZone: "Europe/Berlin",
  downtime: "excluded", blind: "excluded", from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z",
  percent: 99.1507, met: true, budgetSeconds: 14.4 * 3600, usedSeconds: 4 * 3600, remainingSeconds: 10.4 * 3600, remainingFraction: 10.4 / 14.4,
  incidents: [{ checkId: "c1", check: "web1", status: "CRITICAL", from: "2026-11-01T00:00:00Z", to: "2026-11-01T04:00:00Z", output: "connection refused" }],
};
const missed: SLA = { ...base, id: "s2", name: "db-30d", subject: "db1/postgres", subjectKind: "service", checkId: "c9", target: 99.9, period: "30d",
  percent: 98.5, met: false, budgetSeconds: 2592, usedSeconds: 38880, remainingSeconds: -36288, remainingFraction: -14, incidents: [] };


let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  location.hash = "#/";
});

async function mount(app: App) {
  location.hash = "#/slas";
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

describe("SLAs page", () => {
  it("shows each agreement's status, percentage, budget left and the links to the exports", async () => {
    const { app } = signedInApp({ SLAs: () => ({ slas: [base, missed] }) });
    await mount(app);
    await waitFor(() => root.querySelector('[data-sla="db-30d"]') !== null);
    const web = root.querySelector('[data-sla="web-month"]')!;
    expect(web.textContent).toContain("met");
    expect(web.textContent).toContain("99.151%");
    expect(web.textContent).toContain("10h 24m left (72%)");
    expect(web.textContent).toContain("4h used of 14h 24m");
    expect(web.querySelector('a[href="/api/v1/slas/s1/report"]')).not.toBeNull();
    const db = root.querySelector('[data-sla="db-30d"]')!;
    expect(db.textContent).toContain("missed");
    expect(db.textContent).toContain("overspent by 10h 4m");
    expect(db.querySelector('a[href="#/check/c9"]')?.textContent).toBe("db1/postgres");
    expect(root.querySelector('a[href="/api/v1/slas.csv"]')).not.toBeNull();
  });

  it("lists the incidents that consumed the budget on demand", async () => {
    const { app } = signedInApp({ SLAs: () => ({ slas: [base] }) });
    await mount(app);
    await waitFor(() => root.querySelector('[data-sla="web-month"]') !== null);
    const web = root.querySelector('[data-sla="web-month"]')!;
    expect(web.querySelector(".sla-incidents")).toBeNull();
    const btn = [...web.querySelectorAll("button")].find((b) => b.textContent?.includes("incidents"))!;
    expect(btn.textContent).toContain("Show incidents (1)");
    await act(async () => btn.click());
    const row = web.querySelector(".sla-incidents .tr:not(.th)")!;
    expect(row.textContent).toContain("web1");
    expect(row.textContent).toContain("CRITICAL");
    expect(row.textContent).toContain("4h");
    expect(row.textContent).toContain("connection refused");
  });

  it("says what to write when there is no agreement", async () => {
    const { app } = signedInApp({ SLAs: () => ({ slas: [] }) });
    await mount(app);
    await waitFor(() => root.textContent?.includes("No agreements yet") ?? false);
  });
});

describe("SLA formatting", () => {
  it("formats percentages, budgets and states", () => {
    expect(percent(99.95)).toBe("99.950%");
    expect(percent(97.1)).toBe("97.10%");
    expect(budgetLabel({ remainingSeconds: 3600, remainingFraction: 0.5 })).toBe("1h left (50%)");
    expect(budgetLabel({ remainingSeconds: -90, remainingFraction: -0.1 })).toBe("overspent by 1m 30s");
    expect(slaState({ met: true, remainingFraction: 0.1 }).label).toBe("at risk");
    expect(slaState({ met: false, remainingFraction: -1 }).label).toBe("missed");
  });
});
