// The pages emailed links open, against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import { fakeApp, settle } from "../store/testdata";

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

const session = { token: "bgs_new", site: { id: "s", name: "acme" }, user: { id: "u", email: "new@acme.example", displayName: "new", role: "VIEWER" } };
const signedOut = () => {
  throw new Error("unauthenticated");
};

async function open(hash: string, handlers: Parameters<typeof fakeApp>[0]) {
  location.hash = hash;
  const f = fakeApp({ Me: signedOut, ...handlers });
  f.app.tokens.set(null);
  await act(async () => {
    render(<Root app={f.app} />, root);
    await f.app.boot();
  });
  await settle();
  return f;
}

async function submit(password: string) {
  const input = root.querySelector<HTMLInputElement>('input[type="password"], input[type="email"]')!;
  await act(async () => {
    input.value = password;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await act(async () => {
    root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
  await settle();
}

describe("link pages", () => {
  it("accepts an invitation with the invitee's own password and signs in", async () => {
    let got: Record<string, unknown> = {};
    const { app } = await open("#/accept-invite?token=bgl_abc", {
      AcceptInvitation: (v) => ((got = v), { acceptInvitation: session }),
      Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } }),
    });
    expect(root.querySelector("h1")!.textContent).toBe("Accept your invitation");
    await submit("Own-password-12");
    expect(got).toEqual({ token: "bgl_abc", password: "Own-password-12" });
    expect(app.auth.get().status).toBe("signedIn");
    expect(app.tokens.get()).toBe("bgs_new");
  });

  it("shows the server's reason when a confirmation link is used twice, and keeps the page", async () => {
    const { app } = await open("#/verify?token=bgl_used", {
      VerifyEmail: () => ({ __errors: [{ message: "this confirmation link was already used (at 2026-12-07T13:00:00Z); each link works once", extensions: { code: "INVALID" } }] }),
    });
    expect(root.querySelector("h1")!.textContent).toBe("Confirm your email");
    await submit("Some-password-1");
    expect(root.querySelector('[role="alert"]')!.textContent).toContain("already used");
    expect(app.auth.get().status).toBe("signedOut");
  });

  it("says a link without its token is incomplete", async () => {
    await open("#/reset-password", {});
    expect(root.querySelector("h1")!.textContent).toBe("This link is incomplete");
  });

  it("sets a new password with a reset link", async () => {
    let got: Record<string, unknown> = {};
    await open("#/reset-password?token=bgl_r", { ResetPassword: (v) => ((got = v), { resetPassword: true }) });
    await submit("New-password-22");
    expect(got).toEqual({ token: "bgl_r", password: "New-password-22" });
    expect(root.querySelector("h1")!.textContent).toBe("Password changed");
  });

  it("asks for a reset link and answers the same whatever the address", async () => {
    let got: Record<string, unknown> = {};
    await open("#/forgot-password", { RequestPasswordReset: (v) => ((got = v), { requestPasswordReset: true }) });
    await submit("who@acme.example");
    expect(got).toEqual({ email: "who@acme.example" });
    expect(root.querySelector("h1")!.textContent).toBe("Check your email");
    expect(root.textContent).toContain("If who@acme.example has a Bergamot account");
  });

  it("after sign-up, asks to confirm by email instead of signing in", async () => {
    const { app } = await open("#/signup", {
      SignUp: () => ({ signUp: { token: "", confirmationSentTo: "ops@acme.example", site: { id: "s", name: "acme" }, user: session.user } }),
    });
    const set = async (name: string, v: string) => {
      const i = root.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
      await act(async () => {
        i.value = v;
        i.dispatchEvent(new Event("input", { bubbles: true }));
      });
    };
    await set("site", "acme");
    await set("email", "ops@acme.example");
    await set("password", "Correct-horse-9");
    await act(async () => {
      root.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    });
    await settle();
    expect(root.querySelector("h1")!.textContent).toBe("Check your email");
    expect(root.textContent).toContain("ops@acme.example");
    expect(app.auth.get().status).toBe("signedOut");
  });
});
