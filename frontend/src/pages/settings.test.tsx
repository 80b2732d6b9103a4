// The members part of Site settings: an administrator resets a member's
// second factors after confirming; nothing is sent without the
// confirmation; the result says how many factors went.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import type { Role } from "../api/types";
import { fakeApp, settle, waitFor, type Handler } from "../store/testdata";

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

const site = { id: "s", name: "acme", summary: "", aliases: [] };

async function mount(role: Role, handlers: Record<string, Handler>) {
  const me = { id: "u", email: "ops@acme.example", displayName: "ops", role };
  const users = [
    { ...me, disabled: false, mustChangePassword: false },
    { id: "m", email: "mia@acme.example", displayName: "Mia", role: "VIEWER", disabled: false, mustChangePassword: false },
  ];
  const f = fakeApp({
    Me: () => ({ me, site }),
    Overview: () => ({ site: { ...site, statusCounts: [] }, checks: { totalCount: 0, nodes: [] } }),
    Settings: () => ({ site, me, users, apiTokens: [] }),
    ...handlers,
  });
  location.hash = "#/settings";
  await act(async () => {
    render(<Root app={f.app} />, root);
    await f.app.boot();
  });
  await settle();
  return f;
}

const resetButton = () => root.querySelector<HTMLButtonElement>('button[data-action="reset-second-factors"]');

describe("resetting a member's second factors", () => {
  it("asks first, then resets and says how many factors went", async () => {
    const sent: unknown[] = [];
    const { calls } = await mount("ADMIN", { ResetSecondFactors: (v) => (sent.push(v), { resetSecondFactors: 3 }) });
    await waitFor(() => resetButton() !== null);
    const orig = window.confirm;
    const asked: string[] = [];
    try {
      window.confirm = (m?: string) => (asked.push(String(m)), false);
      await act(async () => resetButton()!.click());
      await settle();
      expect(sent).toEqual([]);
      expect(asked[0]).toContain("mia@acme.example");
      expect(asked[0]).toContain("recovery code");

      window.confirm = (m?: string) => (asked.push(String(m)), true);
      await act(async () => resetButton()!.click());
      await settle();
      await waitFor(() => sent.length === 1);
      expect(sent).toEqual([{ userId: "m" }]);
      await waitFor(() => document.body.textContent?.includes("3 second factors of mia@acme.example removed") ?? false);
      // The member list is read again.
      expect(calls.filter((c) => c === "Settings").length).toBeGreaterThanOrEqual(2);
    } finally {
      window.confirm = orig;
    }
  });

  it("is only offered to administrators, and never for yourself", async () => {
    await mount("EDITOR", {});
    await waitFor(() => root.textContent?.includes("mia@acme.example") ?? false);
    expect(resetButton()).toBeNull();
    render(null, root);
    await mount("ADMIN", {});
    await waitFor(() => resetButton() !== null);
    expect(root.querySelectorAll('button[data-action="reset-second-factors"]').length).toBe(1);
  });
});
