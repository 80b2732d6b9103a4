// The availability panel against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Availability } from "../api/types";
import { AppContext } from "../store/app";
import { fakeApp, settle, waitFor } from "../store/testdata";
import { AvailabilityPanel, shares } from "./availability";

const week: Availability = {
  seconds: 604800, ok: 0.9, downtime: 0.04, blind: 0.01, pending: 0,
  statuses: [{ status: "OK", fraction: 0.9, seconds: 544320 }, { status: "CRITICAL", fraction: 0.05, seconds: 30240 }],
};

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("Availability panel", () => {
  it("shows time per status, downtime and blind time for the chosen range, and asks again for another range", async () => {
    const asked: { from: string; to: string }[] = [];
    const { app } = fakeApp({ Availability: (v) => { asked.push(v as { from: string; to: string }); return { availability: week }; } });
    await act(async () => { render(<AppContext.Provider value={app}><AvailabilityPanel checkId="c1" /></AppContext.Provider>, root); });
    await settle();
    await waitFor(() => root.querySelector('[data-category="CRITICAL"]') !== null);
    expect(root.textContent).toContain("90.000% OK");
    expect(root.querySelector('[data-category="CRITICAL"]')!.textContent).toContain("5.00%");
    expect(root.querySelector('[data-category="CRITICAL"]')!.textContent).toContain("8h 24m");
    expect(root.querySelector('[data-category="DOWNTIME"]')!.textContent).toContain("4.00%");
    expect(root.querySelector('[data-category="BLIND"]')!.textContent).toContain("1.00%");
    expect(root.querySelector('[data-category="PENDING"]')).toBeNull();
    const span = (Date.parse(asked[0].to) - Date.parse(asked[0].from)) / 3600_000;
    expect(span).toBe(24 * 7);
    await act(async () => {
      const sel = root.querySelector("select")!;
      sel.value = String(24 * 30);
      sel.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await waitFor(() => asked.length >= 2);
    expect((Date.parse(asked[asked.length - 1].to) - Date.parse(asked[asked.length - 1].from)) / 3600_000).toBe(24 * 30);
  });

  it("lists statuses before downtime, blind and pending, and leaves out empty ones", () => {
    expect(shares(week).map((s) => s.label)).toEqual(["OK", "CRITICAL", "DOWNTIME", "BLIND"]);
  });
});
