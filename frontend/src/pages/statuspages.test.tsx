// The Status pages page against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { Role, StatusPage } from "../api/types";
import type { App } from "../store/app";
import { signedInApp, settle, waitFor, type Handler } from "../store/testdata";
import { stateLabel } from "./statuspages";

const page: StatusPage = {
  id: "p1", slug: "public", title: "Acme Cloud", description: "", domain: "status.acme.example", path: "/status/acme/public",
  components: [{ id: "c1", name: "Storefront", description: "", position: 0, checkId: "s1", groupName: null }, { id: "c2", name: "Web tier", description: "", position: 1, checkId: null, groupName: "web" }],
  incidents: [{
    id: "i1", kind: "incident", title: "Checkout errors", impact: "major", state: "identified", components: ["c1"], scheduledFrom: null, scheduledTo: null,
    createdAt: "2026-12-07T10:00:00Z", resolvedAt: null,
    updates: [{ id: "u1", state: "investigating", body: "Looking into it.", author: "a@b.c", at: "2026-12-07T10:00:00Z" }, { id: "u2", state: "identified", body: "Bad release.", author: "a@b.c", at: "2026-12-07T10:10:00Z" }],
  }],
};
const hosts = [{ id: "h1", name: "web1", services: [{ id: "s1", name: "http" }] }];

function makeApp(handlers: Record<string, Handler>, role: Role = "EDITOR") {
  const { app, calls } = signedInApp(handlers, role);
  handlers.StatusPages ??= () => ({ statusPages: [page], hosts, groups: [{ name: "web" }] });
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
});

async function mount(app: App) {
  location.hash = "#/status-pages";
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

function input(el: HTMLInputElement | HTMLSelectElement, v: string) {
  el.value = v;
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
}

describe("Status pages", () => {
  it("shows each page with its public link, components (and what they show) and incidents with updates", async () => {
    const { app } = makeApp({});
    await mount(app);
    await waitFor(() => root.querySelector('[data-page="public"]') !== null);
    const p = root.querySelector('[data-page="public"]')!;
    expect(p.querySelector('a[href="/status/acme/public"]')).not.toBeNull();
    expect(p.textContent).toContain("also at https://status.acme.example/");
    expect(p.querySelector('[data-component="Storefront"]')!.textContent).toContain("check web1/http");
    expect(p.querySelector('[data-component="Web tier"]')!.textContent).toContain("group web");
    const inc = p.querySelector('[data-incident="Checkout errors"]')!;
    expect(inc.textContent).toContain("Identified");
    expect(inc.textContent).toContain("Looking into it.");
    expect(inc.textContent).toContain("Bad release.");
  });

  it("posts an update that resolves an incident", async () => {
    let got: unknown = null;
    const { app } = makeApp({ UpdateStatusIncident: (v) => { got = v; return { updateStatusIncident: { id: "i1" } }; } });
    await mount(app);
    await waitFor(() => root.querySelector('form[aria-label="Update Checkout errors"]') !== null);
    const form = root.querySelector('form[aria-label="Update Checkout errors"]')!;
    await act(async () => {
      input(form.querySelector("select")!, "resolved");
      input(form.querySelector("input")!, "Rolled back; all good.");
    });
    await act(async () => { form.querySelector("button")!.click(); });
    await waitFor(() => got !== null);
    expect(got).toEqual({ id: "i1", state: "resolved", body: "Rolled back; all good." });
  });

  it("adds a component for a group", async () => {
    let got: unknown = null;
    const { app } = makeApp({ SaveStatusComponent: (v) => { got = v; return { saveStatusComponent: { id: "c3" } }; } });
    await mount(app);
    await waitFor(() => root.querySelector('form[aria-label="New component of public"]') !== null);
    const form = root.querySelector('form[aria-label="New component of public"]')!;
    await act(async () => {
      input(form.querySelector("input")!, "Everything web");
      input(form.querySelector("select")!, "group:web");
    });
    await act(async () => { form.querySelector("button")!.click(); });
    await waitFor(() => got !== null);
    expect(got).toEqual({ input: { pageId: "p1", name: "Everything web", groupName: "web" } });
  });

  it("offers no editing to viewers", async () => {
    const { app } = makeApp({}, "VIEWER");
    await mount(app);
    await waitFor(() => root.querySelector('[data-page="public"]') !== null);
    expect(root.querySelectorAll("form").length).toBe(0);
  });

  it("names states in words", () => {
    expect(stateLabel("in_progress")).toBe("In progress");
    expect(stateLabel("monitoring")).toBe("Monitoring");
  });
});
