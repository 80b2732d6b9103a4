// The Workers & zones page against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Root } from "../app";
import type { Role, WorkerKey, Zone } from "../api/types";
import type { App } from "../store/app";
import { signedInApp, settle, waitFor, type Handler } from "../store/testdata";
import { hubURL, keyFile, workerCommand } from "./workers";

const zones: Zone[] = [
  { name: "default", shared: true, checks: 3, lastSeen: "2026-01-01T00:00:00Z", workers: [] },
  {
    name: "dc1", shared: false, checks: 7, lastSeen: new Date().toISOString(),
    workers: [{ id: "w1", name: "dc1-a", version: "1.4.0", engines: ["nagios", "ssh"], node: "n1/abc", address: "203.0.113.7", inFlight: 4, connectedAt: "2026-01-01T00:00:00Z", lastSeen: new Date().toISOString() }],
  },
];

function makeApp(handlers: Record<string, Handler>, role: Role = "ADMIN") {
  const { app, calls } = signedInApp(handlers, role);
  handlers.Zones ??= () => ({ zones });
  return { app, calls };
}

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  location.hash = "#/";
  vi.restoreAllMocks();
});

async function mount(app: App) {
  location.hash = "#/workers";
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

describe("Workers & zones", () => {
  it("shows shared and private zones with each connected worker's name, version, address, engines and in-flight checks", async () => {
    const { app } = makeApp({ WorkerKeys: () => ({ workerKeys: [] }) });
    await mount(app);
    await waitFor(() => root.querySelector('[data-zone="dc1"]') !== null);
    const dc1 = root.querySelector('[data-zone="dc1"]')!;
    expect(dc1.textContent).toContain("private");
    expect(dc1.textContent).toContain("1 connected");
    expect(dc1.textContent).toContain("7 checks");
    const row = dc1.querySelector(".worker-row")!;
    expect(row.textContent).toContain("dc1-a");
    expect(row.textContent).toContain("1.4.0");
    expect(row.textContent).toContain("via n1/abc");
    expect(row.querySelector('[data-field="address"]')!.textContent).toBe("203.0.113.7");
    expect(row.querySelector('[data-field="engines"]')!.textContent).toBe("nagios, ssh");
    expect(row.querySelector('[data-field="inflight"]')!.textContent).toBe("4");
    const def = root.querySelector('[data-zone="default"]')!;
    expect(def.textContent).toContain("shared");
    expect(def.textContent).toContain("no worker connected");
  });

  it("creates a key, shows it once with the worker command, and revokes a key", async () => {
    const keys: WorkerKey[] = [{ id: "k1", name: "old", zone: "dc1", createdAt: "2026-01-01T00:00:00Z", lastSeen: null, revoked: false }];
    const created: Record<string, unknown>[] = [];
    const revoked: string[] = [];
    const { app } = makeApp({
      WorkerKeys: () => ({ workerKeys: keys }),
      CreateWorkerKey: (v) => {
        created.push(v);
        keys.push({ id: "k2", name: String(v.name), zone: String(v.zone), createdAt: new Date().toISOString(), lastSeen: null, revoked: false });
        return { createWorkerKey: { id: "k2", name: v.name, zone: v.zone, key: "bgw_site_SECRET" } };
      },
      RevokeWorkerKey: (v) => { revoked.push(String(v.id)); keys[0].revoked = true; return { revokeWorkerKey: true }; },
    });
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    vi.spyOn(window, "confirm").mockReturnValue(true);
    await mount(app);
    await waitFor(() => root.querySelector('[aria-label="Worker keys"]') !== null);
    expect(root.textContent).not.toContain("bgw_site_SECRET");

    const input = (label: string, v: string) => {
      const el = root.querySelector<HTMLInputElement>(`input[aria-label="${label}"]`)!;
      el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
    };
    await act(async () => { input("Zone", "dc1"); input("Key name", "dc1-b"); });
    await act(async () => { root.querySelector<HTMLButtonElement>('[data-action="create-key"]')!.click(); });
    await waitFor(() => root.querySelector(".fresh-key") !== null);
    expect(created).toEqual([{ zone: "dc1", name: "dc1-b" }]);
    const fresh = root.querySelector(".fresh-key")!;
    expect(fresh.querySelector('[data-field="key"]')!.textContent).toBe("bgw_site_SECRET");
    expect(fresh.querySelector('[data-field="save"]')!.textContent).toBe("umask 077; echo 'bgw_site_SECRET' > dc1.key");
    expect(fresh.querySelector('[data-field="command"]')!.textContent).toBe(`bergamot worker --hub ${hubURL()} --key-file dc1.key`);
    await act(async () => { fresh.querySelector("button")!.click(); });
    expect(writeText).toHaveBeenCalledWith("bgw_site_SECRET");
    await waitFor(() => root.textContent!.includes("dc1-b"));

    await act(async () => { root.querySelector<HTMLButtonElement>('[data-action="revoke-key"]')!.click(); });
    await waitFor(() => revoked.length === 1);
    expect(revoked).toEqual(["k1"]);
    await waitFor(() => root.querySelector('[aria-label="Worker keys"]')!.textContent!.includes("revoked"));

    // Done hides the key for good.
    const done = [...root.querySelectorAll<HTMLButtonElement>(".fresh-key button")].find((b) => b.textContent === "Done")!;
    await act(async () => { done.click(); });
    expect(root.textContent).not.toContain("bgw_site_SECRET");
  });

  it("does not ask non-administrators' sessions for keys", async () => {
    const { app, calls } = makeApp({}, "VIEWER");
    await mount(app);
    await waitFor(() => root.querySelector('[data-zone="dc1"]') !== null);
    expect(calls).not.toContain("WorkerKeys");
    expect(root.textContent).toContain("Only administrators create, list and revoke worker keys");
  });
});

describe("worker command", () => {
  it("dials wss behind https and names the key file after the zone", () => {
    expect(hubURL({ protocol: "https:", host: "mon.example:8443" })).toBe("wss://mon.example:8443/worker");
    expect(hubURL({ protocol: "http:", host: "localhost:8080" })).toBe("ws://localhost:8080/worker");
    expect(keyFile("branch office/2")).toBe("branch-office-2.key");
    expect(workerCommand("wss://h/worker", "a.key")).toBe("bergamot worker --hub wss://h/worker --key-file a.key");
  });
});
