// The host agents page: status per agent, enrolment steps, revoke for admins only.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { Role } from "../api/types";
import { App } from "../store/app";
import { signedInApp, settle, waitFor, type Handler } from "../store/testdata";

const agent = (id: string, connected: boolean) => ({
  agentId: id, hostName: `${id}.example`, connected, version: "1.2.3", node: "n1/abcd", since: "2026-12-07T10:00:00Z",
  lastSeen: "2026-12-07T10:05:00Z", serial: "ab12", certificateExpires: "2027-03-07T10:00:00Z",
});

function makeApp(handlers: Record<string, Handler>, role: Role = "ADMIN") {
  const { app, calls } = signedInApp(handlers, role);
  handlers.AgentCertificates ??= () => ({ agentCertificates: [] });
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
  location.hash = "#/agents";
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

const hub = { url: "wss://bergamot.example:8443/agent", caCertificate: "-----BEGIN CERTIFICATE-----\n" };

describe("host agents page", () => {
  it("shows each agent's connection, node, version and certificate expiry", async () => {
    const { app } = makeApp({ Agents: () => ({ agents: [agent("web1", true), agent("db1", false)], agentHub: hub }) });
    await mount(app);
    await waitFor(() => root.querySelectorAll("[aria-label=Agents] .tr").length === 2);
    const rows = [...root.querySelectorAll("[aria-label=Agents] .tr")].map((r) => r.textContent ?? "");
    expect(rows[0]).toContain("CONNECTED");
    expect(rows[0]).toContain("web1");
    expect(rows[0]).toContain("n1/abcd");
    expect(rows[0]).toContain("certificate expires");
    expect(rows[1]).toContain("DISCONNECTED");
    expect(root.textContent).toContain("1 of 2 connected");
  });

  it("walks an admin through enrolment with copy-paste steps", async () => {
    const vars: unknown[] = [];
    const { app } = makeApp({
      Agents: () => ({ agents: [], agentHub: hub }),
      CreateAgentEnrolment: (v) => {
        vars.push(v);
        return { createAgentEnrolment: { host: "web1", template: false, token: "bga_x_y", expiresAt: "2026-12-07T11:00:00Z",
          commands: ["cat > ca.crt", "bergamot agent enrol --token bga_x_y", "bergamot agent --hub wss://x"], hub: { url: hub.url } } };
      },
    });
    await mount(app);
    await waitFor(() => root.querySelector("input[aria-label='Host id']") !== null);
    const input = root.querySelector<HTMLInputElement>("input[aria-label='Host id']")!;
    await act(async () => {
      input.value = "web1";
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await act(async () => {
      root.querySelector<HTMLFormElement>(".inline-form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await waitFor(() => root.querySelectorAll("pre.code").length === 3);
    expect(vars).toEqual([{ host: "web1", template: false }]);
    expect(root.querySelectorAll("pre.code")[1].textContent).toContain("bga_x_y");
  });

  it("lets only admins revoke, and says why to others", async () => {
    const { app } = makeApp({ Agents: () => ({ agents: [agent("web1", true)], agentHub: hub }) }, "VIEWER");
    await mount(app);
    await waitFor(() => root.querySelector("[aria-label=Agents] .btn-danger") !== null);
    const b = root.querySelector<HTMLButtonElement>("[aria-label=Agents] .btn-danger")!;
    expect(b.disabled).toBe(true);
    expect(b.title).toContain("viewer");
  });

  it("lists certificates per host with serial, expiry and status, and revokes one by serial", async () => {
    const cert = (serial: string, agentId: string, status: string, revokedAt: string | null = null) => ({
      serial, agentId, template: false, notAfter: "2027-03-07T10:00:00Z", issuedAt: "2026-12-07T10:00:00Z", revokedAt, status,
    });
    let certs = [cert("aa01", "web1", "VALID"), cert("aa00", "web1", "REVOKED", "2026-12-01T09:00:00Z"), cert("bb01", "db1", "EXPIRING")];
    const revoked: unknown[] = [];
    const { app, calls } = makeApp({
      Agents: () => ({ agents: [agent("web1", true), agent("db1", true)], agentHub: hub }),
      AgentCertificates: () => ({ agentCertificates: certs }),
      RevokeAgentCertificate: (v) => {
        revoked.push(v);
        certs = certs.map((c) => (c.serial === "aa01" ? { ...c, status: "REVOKED", revokedAt: "2026-12-07T12:00:00Z" } : c));
        return { revokeAgentCertificate: ["aa01"] };
      },
    });
    const confirmOrig = window.confirm;
    window.confirm = () => true;
    try {
      await mount(app);
      const rows = () => [...root.querySelectorAll("[aria-label=Certificates] .tr")];
      await waitFor(() => rows().length === 3);
      expect(rows()[0].textContent).toContain("VALID");
      expect(rows()[0].textContent).toContain("aa01");
      expect(rows()[0].textContent).toContain("until");
      expect(rows()[1].textContent).toContain("REVOKED");
      expect(rows()[1].querySelector<HTMLButtonElement>(".btn-danger")!.disabled).toBe(true);
      expect(rows()[2].textContent).toContain("EXPIRING");

      // Per host: only db1's.
      const select = root.querySelector<HTMLSelectElement>("select[aria-label='Certificates of host']")!;
      await act(async () => {
        select.value = "db1";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
      await waitFor(() => rows().length === 1);
      expect(rows()[0].textContent).toContain("bb01");
      await act(async () => {
        select.value = "web1";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
      await waitFor(() => rows().length === 2);

      await act(async () => {
        rows()[0].querySelector<HTMLButtonElement>(".btn-danger")!.click();
      });
      await waitFor(() => rows()[0].textContent?.includes("REVOKED") ?? false);
      expect(revoked).toEqual([{ serial: "aa01" }]);
      expect(calls.filter((c) => c === "AgentCertificates").length).toBeGreaterThanOrEqual(2);
    } finally {
      window.confirm = confirmOrig;
    }
  });

  it("shows certificates to administrators only", async () => {
    const { app, calls } = makeApp({ Agents: () => ({ agents: [agent("web1", true)], agentHub: hub }) }, "VIEWER");
    await mount(app);
    await waitFor(() => root.querySelectorAll("[aria-label=Agents] .tr").length === 1);
    expect(root.querySelector("[aria-label=Certificates]")).toBeNull();
    expect(calls).not.toContain("AgentCertificates");
  });

  it("says how to enable the hub when the node runs none", async () => {
    const { app } = makeApp({ Agents: () => ({ agents: [], agentHub: null }) });
    await mount(app);
    await waitFor(() => (root.textContent ?? "").includes("runs no agent hub"));
    expect(root.textContent).toContain("--agent-manager");
  });
});
