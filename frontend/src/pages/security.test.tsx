// Second factors in the dashboard: the sign-in's second step, the account
// security page, and the site's requirement, against an in-process
// GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import { b64urlToBytes, bytesToB64url, creationOptions, requestOptions } from "../api/webauthn";
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

const site = { id: "s", name: "acme", summary: "" };
const user = { id: "u", email: "ops@acme.example", displayName: "ops", role: "ADMIN" };
const overview = () => ({ site: { ...site, statusCounts: [] }, checks: { totalCount: 0, nodes: [] } });
const signedOut = () => {
  throw new Error("unauthenticated");
};

async function mount(hash: string, handlers: Parameters<typeof fakeApp>[0], signedIn = false) {
  location.hash = hash;
  const f = fakeApp({ Me: signedIn ? () => ({ me: user, site }) : signedOut, Overview: overview, MustChange: () => ({ me: { id: "u", mustChangePassword: false } }), ...handlers });
  if (!signedIn) f.app.tokens.set(null);
  await act(async () => {
    render(<Root app={f.app} />, root);
    await f.app.boot();
  });
  await settle();
  return f;
}

async function type(selector: string, value: string) {
  const input = root.querySelector<HTMLInputElement>(selector);
  if (!input) throw new Error(`no ${selector} in ${root.innerHTML.slice(0, 400)}`);
  await act(async () => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

async function submit(selector = "form") {
  await act(async () => {
    root.querySelector(selector)!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
  });
  await settle();
}

describe("webauthn JSON", () => {
  it("round-trips base64url and decodes the server's options", () => {
    const bytes = new Uint8Array([0, 1, 250, 251, 252, 253, 254, 255]);
    expect(bytesToB64url(bytes)).toBe("AAH6-_z9_v8");
    expect(Array.from(b64urlToBytes("AAH6-_z9_v8"))).toEqual(Array.from(bytes));
    const c = creationOptions(JSON.stringify({ publicKey: { challenge: "AAH6", rp: { id: "localhost", name: "Bergamot" }, user: { id: "AQID", name: "a", displayName: "a" }, pubKeyCredParams: [], excludeCredentials: [{ type: "public-key", id: "BAU" }] } }));
    expect(Array.from(c.challenge as Uint8Array)).toEqual([0, 1, 250]);
    expect(Array.from(c.user.id as Uint8Array)).toEqual([1, 2, 3]);
    expect(Array.from(c.excludeCredentials![0].id as Uint8Array)).toEqual([4, 5]);
    const r = requestOptions(JSON.stringify({ publicKey: { challenge: "AQID", rpId: "localhost", allowCredentials: [{ type: "public-key", id: "BAU" }] } }));
    expect(Array.from(r.allowCredentials![0].id as Uint8Array)).toEqual([4, 5]);
  });
});

describe("signing in with a second factor", () => {
  it("asks for the code after the password and signs in with it", async () => {
    let finish: Record<string, unknown> = {};
    const { app } = await mount("#/signin", {
      Login: () => ({ login: { token: "", site, user, secondFactor: { token: "bgc_x", methods: ["RECOVERY", "TOTP"], expiresAt: "2030-01-01T00:00:00Z" } } }),
      FinishSignIn: (v) => ((finish = v), { finishSignIn: { token: "bgs_new", site, user, secondFactor: null } }),
      MustEnrol: () => ({ secondFactors: { mustEnrol: false } }),
    });
    await type('input[name="site"]', "acme");
    await type('input[name="email"]', "ops@acme.example");
    await type('input[name="password"]', "Correct-horse-9");
    await submit();
    expect(root.querySelector("h1")!.textContent).toBe("Second factor");
    expect(app.auth.get().status).toBe("signedOut");
    await type('input[name="code"]', "123456");
    await submit();
    expect(finish).toEqual({ challenge: "bgc_x", method: "TOTP", code: "123456" });
    expect(app.auth.get().status).toBe("signedIn");
    expect(app.tokens.get()).toBe("bgs_new");
  });

  it("offers a recovery code instead and shows the server's refusal", async () => {
    const { app } = await mount("#/signin", {
      Login: () => ({ login: { token: "", site, user, secondFactor: { token: "bgc_x", methods: ["RECOVERY", "TOTP"], expiresAt: "2030-01-01T00:00:00Z" } } }),
      FinishSignIn: () => ({ __errors: [{ message: "the recovery code is wrong or was already used", extensions: { code: "UNAUTHENTICATED" } }] }),
    });
    await type('input[name="site"]', "acme");
    await type('input[name="email"]', "ops@acme.example");
    await type('input[name="password"]', "Correct-horse-9");
    await submit();
    await act(async () => {
      root.querySelector<HTMLButtonElement>('button[data-method="RECOVERY"]')!.click();
    });
    expect(root.querySelector("label")!.textContent).toContain("Recovery code");
    await type('input[name="code"]', "AAAA-BBBB-CCCC-DDDD");
    await submit();
    expect(root.querySelector('[role="alert"]')!.textContent).toContain("already used");
    expect(app.auth.get().status).toBe("signedOut");
  });
});

describe("account security page", () => {
  it("enrols an authenticator app with its QR code and shows the recovery codes once", async () => {
    let factors: unknown[] = [];
    const codes = Array.from({ length: 10 }, (_, i) => `AAAA-BBBB-CCCC-000${i}`);
    await mount("#/security", {
      MustEnrol: () => ({ secondFactors: { mustEnrol: false } }),
      SecondFactors: () => ({ me: user, secondFactors: { factors, recoveryCodesLeft: factors.length ? 10 : 0, siteRequired: false, mustEnrol: false } }),
      BeginTotpEnrolment: () => ({ beginTotpEnrolment: { id: "f1", secret: "JBSWY3DPEHPK3PXP", uri: "otpauth://totp/Bergamot:ops", qrCode: "data:image/png;base64,iVBORw0KGgo=" } }),
      ConfirmTotpEnrolment: (v) => {
        expect(v).toEqual({ id: "f1", code: "654321" });
        factors = [{ id: "f1", kind: "TOTP", name: "Phone", createdAt: new Date().toISOString(), lastUsed: null }];
        return { confirmTotpEnrolment: { factor: factors[0], recoveryCodes: codes } };
      },
    }, true);
    expect(root.querySelector("h1")!.textContent).toBe("Account security");
    expect(root.textContent).toContain("No second factor yet");
    await type('input[name="totp-name"]', "Phone");
    await submit('section[aria-label="Authenticator app"] form');
    expect(root.querySelector<HTMLImageElement>("img.qr")!.src).toContain("data:image/png");
    expect(root.querySelector("[data-totp-secret]")!.textContent).toBe("JBSWY3DPEHPK3PXP");
    await type('input[name="totp-code"]', "654321");
    await submit('section[aria-label="Authenticator app"] form');
    await settle();
    const shown = Array.from(root.querySelectorAll(".recovery-codes li")).map((li) => li.textContent);
    expect(shown).toEqual(codes);
    expect(root.querySelector('[data-factor="TOTP"]')!.textContent).toContain("Phone");
    await act(async () => {
      Array.from(root.querySelectorAll("button")).find((b) => b.textContent === "I have saved them")!.click();
    });
    expect(root.querySelector(".recovery-codes")).toBeNull();
  });

  it("sends a member of a site that requires a second factor to enrol before anything else", async () => {
    await mount("#/", {
      MustEnrol: () => ({ secondFactors: { mustEnrol: true } }),
      SecondFactors: () => ({ me: user, secondFactors: { factors: [], recoveryCodesLeft: 0, siteRequired: true, mustEnrol: true } }),
    }, true);
    expect(root.querySelector("h1")!.textContent).toBe("Account security");
    expect(root.querySelector('[role="alert"]')!.textContent).toContain("requires a second factor");
  });
});
