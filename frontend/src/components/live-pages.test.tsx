// Live pages, role-aware actions and filtered lists, rendered into happy-dom
// and fed by an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { Role } from "../api/types";
import { App, AppContext } from "../store/app";
import { check, signedInApp, settle, update, waitFor, type Handler } from "../store/testdata";
import { CheckActions } from "../pages/check-actions";

function makeApp(handlers: Record<string, Handler>, role: Role = "ADMIN") {
  const { me, app, calls, flush } = signedInApp(handlers, role);
  return { app, me, calls, count: (op: string) => calls.filter((c) => c === op).length, flush };
}


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

async function mount(app: App, hash: string) {
  location.hash = hash;
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

describe("live roll-ups", () => {
  it("refetches the groups tree once per burst of relevant updates, not for unrelated ones", async () => {
    let status = "OK";
    const { app, count, flush } = makeApp({
      Groups: () => ({ groups: [{ name: "web", summary: null, parents: [], status, counts: [{ status, count: 2 }], children: [] }] }),
    });
    await mount(app, "#/groups");
    await waitFor(() => root.querySelector(".tree-name") !== null);
    const badge = () => root.querySelector(".tree-row .badge")!.textContent;
    expect(badge()).toContain("OK");
    expect(count("Groups")).toBe(1);

    const loose = check("x", "OK"); // in no group
    const member = { ...check("m", "OK"), groups: ["web"] };
    act(() => app.receiveCheckUpdate(update(loose, "CRITICAL")));
    act(() => app.receiveCheckUpdate({ ...update(member, "OK") })); // same status: roll-up unchanged
    flush();
    await act(() => new Promise((r) => setTimeout(r, 400)));
    expect(count("Groups")).toBe(1);

    status = "CRITICAL";
    const t0 = Date.now();
    for (let i = 0; i < 200; i++) app.receiveCheckUpdate(update(member, i % 2 ? "OK" : "CRITICAL"));
    flush();
    await waitFor(() => count("Groups") === 2);
    await waitFor(() => badge().includes("CRITICAL"));
    // A second burst right after waits for the one-second limit.
    app.receiveCheckUpdate(update(member, "WARNING"));
    flush();
    await act(() => new Promise((r) => setTimeout(r, 300)));
    expect(count("Groups")).toBe(2);
    await waitFor(() => count("Groups") === 3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it("locations follow updates of checks that have a location", async () => {
    const { app, count, flush } = makeApp({
      Locations: () => ({ locations: [{ name: "dc1", summary: null, parent: null, status: "OK", counts: [], children: [] }] }),
    });
    await mount(app, "#/locations");
    await waitFor(() => count("Locations") === 1);
    app.receiveCheckUpdate(update({ ...check("g", "OK"), groups: ["web"] }, "CRITICAL")); // grouped, but no location
    flush();
    await act(() => new Promise((r) => setTimeout(r, 400)));
    expect(count("Locations")).toBe(1);
    app.receiveCheckUpdate(update({ ...check("l", "OK"), location: "dc1" }, "CRITICAL"));
    flush();
    await waitFor(() => count("Locations") === 2);
  });
});

describe("live workers", () => {
  it("refetches the zones after check results instead of waiting for the 10 s poll", async () => {
    const { app, count, flush } = makeApp({ Zones: () => ({ zones: [] }), WorkerKeys: () => ({ workerKeys: [] }) });
    await mount(app, "#/workers");
    await waitFor(() => count("Zones") === 1);
    await act(() => new Promise((r) => setTimeout(r, 300)));
    expect(count("Zones")).toBe(1);
    app.receiveCheckUpdate(update(check("w", "OK"), "OK"));
    flush();
    await waitFor(() => count("Zones") === 2);
  });
});

describe("role-aware actions", () => {
  const crit = check("c", "CRITICAL");

  async function actions(role: Role) {
    const { app, me } = makeApp({}, role);
    app.auth.set({ status: "signedIn", user: me, site: { id: "s", name: "acme", summary: "" } });
    act(() => render(<AppContext.Provider value={app}><CheckActions check={crit} downtimes={[]} onChanged={() => {}} /></AppContext.Provider>, root));
    return [...root.querySelectorAll<HTMLButtonElement>("button[data-action]")];
  }

  it("greys out every mutating check action for a viewer and says why", async () => {
    const buttons = await actions("VIEWER");
    expect(buttons.map((b) => b.dataset.action)).toEqual(["execute", "acknowledge", "downtime", "suppress"]);
    for (const b of buttons) {
      expect(b.disabled).toBe(true);
      expect(b.title).toContain("viewer");
    }
  });

  it("leaves them usable for an editor", async () => {
    for (const b of await actions("EDITOR")) {
      expect(b.disabled).toBe(false);
      expect(b.title).toBe("");
    }
  });

  const settings = (role: Role) => {
    const me = { id: "u", email: "me@b.c", displayName: "Me", role };
    return makeApp({
      Settings: () => ({
        site: { id: "s", name: "acme", summary: "", aliases: [] },
        me,
        users: [me, { id: "o", email: "other@b.c", displayName: "Other", role: "VIEWER" }],
        apiTokens: [],
      }),
    }, role);
  };

  it("keeps user management from editors but lets them create tokens", async () => {
    const { app } = settings("EDITOR");
    await mount(app, "#/settings");
    await waitFor(() => root.querySelector("[data-action=create-token]") !== null);
    const other = root.querySelector<HTMLSelectElement>('select[aria-label="Role of other@b.c"]')!;
    expect(other.disabled).toBe(true);
    expect(other.title).toContain("Only admins");
    expect(root.textContent).not.toContain("Invite user");
    expect(root.querySelector(".users-note")!.textContent).toContain("Only admins");
    expect(root.querySelector<HTMLButtonElement>("[data-action=create-token]")!.disabled).toBe(false);
  });

  it("lets admins manage users, and stops viewers creating tokens", async () => {
    const a = settings("ADMIN");
    await mount(a.app, "#/settings");
    await waitFor(() => root.querySelector("[data-action=create-token]") !== null);
    expect(root.querySelector<HTMLSelectElement>('select[aria-label="Role of other@b.c"]')!.disabled).toBe(false);
    expect(root.textContent).toContain("Invite user");
    render(null, root);

    const v = settings("VIEWER");
    await mount(v.app, "#/settings");
    await waitFor(() => root.querySelector("[data-action=create-token]") !== null);
    const create = root.querySelector<HTMLButtonElement>("[data-action=create-token]")!;
    expect(create.disabled).toBe(true);
    expect(create.title).toContain("viewer");
  });

  it("lets a viewer validate the configuration but not apply it", async () => {
    const { app } = makeApp({ Config: () => ({ configXml: "<bergamot/>", configRevisions: [] }) }, "VIEWER");
    await mount(app, "#/config");
    await waitFor(() => root.querySelector("[data-action=apply]") !== null);
    expect(root.querySelector<HTMLButtonElement>("[data-action=validate]")!.disabled).toBe(false);
    const apply = root.querySelector<HTMLButtonElement>("[data-action=apply]")!;
    expect(apply.disabled).toBe(true);
    expect(apply.title).toContain("viewer");
  });
});

describe("filtered list after live updates", () => {
  it("marks rows that stop matching, without refetching, and unmarks them when they match again", async () => {
    const a = check("a", "CRITICAL", {}, "http"), b = check("b", "CRITICAL", {}, "disk");
    const { app, count, flush } = makeApp({
      Checks: () => ({ checks: { totalCount: 2, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [a, b] } }),
      FilterNames: () => ({ groups: [], locations: [] }),
    });
    await mount(app, "#/checks?problems=yes");
    await waitFor(() => root.querySelectorAll(".checks-table .check-row").length === 2);
    expect(root.querySelectorAll(".is-stale")).toHaveLength(0);
    const fetched = count("Checks");

    app.receiveCheckUpdate(update(b, "OK"));
    flush();
    const stale = [...root.querySelectorAll(".check-row.is-stale")];
    expect(stale.map((r) => r.getAttribute("data-check-id"))).toEqual(["b"]);
    expect(stale[0].querySelector(".chip-stale")!.textContent).toContain("recovered: now OK");
    expect(root.querySelector(".stale-refresh")!.textContent).toContain("1 no longer matches");
    expect(count("Checks")).toBe(fetched);

    app.receiveCheckUpdate(update(b, "WARNING"));
    flush();
    expect(root.querySelectorAll(".is-stale")).toHaveLength(0);
    expect(root.querySelector(".stale-refresh")).toBeNull();
  });
});

describe("alerts page", () => {
  it("loads older alerts a page at a time with the last alert's cursor, and offers no more after a short page", async () => {
    const alert = (i: number) => ({
      id: `a${i}`, check: check(`c${i}`, "CRITICAL"), status: "CRITICAL", output: `alert ${i}`,
      openedAt: new Date(Date.UTC(2026, 0, 1) - i * 1000).toISOString(), updatedAt: new Date(0).toISOString(), recoveredAt: null,
      acknowledged: false, acknowledgedAt: null, acknowledgedBy: null, escalationLevel: 0, cursor: `cur${i}`,
    });
    const afters: (string | null)[] = [];
    const { app } = makeApp({
      Alerts: (v: { after?: string | null }) => {
        afters.push(v.after ?? null);
        const from = v.after ? Number(v.after.slice(3)) + 1 : 0;
        const n = from === 0 ? 500 : 3; // a full first page, then a short one
        return { alerts: Array.from({ length: n }, (_, k) => alert(from + k)) };
      },
    });
    await mount(app, "#/alerts");
    await waitFor(() => root.querySelectorAll(".alert-row").length === 500);
    const button = () => [...root.querySelectorAll<HTMLButtonElement>(".more button")][0];
    expect(button().textContent).toContain("older alerts");
    await act(async () => button().click());
    await waitFor(() => root.querySelectorAll(".alert-row").length === 503);
    expect(afters).toEqual([null, "cur499"]);
    expect(root.textContent).toContain("alert 502");
    expect(button()).toBeUndefined();
  });
});
