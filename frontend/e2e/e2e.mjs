#!/usr/bin/env node
// Bergamot dashboard end-to-end test against a running server.
//   BASE_URL=http://localhost:8080 node e2e/e2e.mjs
// Signs up a new site, applies e2e/fixture.xml (dummy-engine checks), watches
// the checks reach their states, measures a live update after "Execute now",
// acknowledges, schedules downtime, checks a config error is shown at its line,
// changes the password, ends another session and finds both in the audit log,
// invites a member and requires a new password of them, resets their second
// factors, disables and removes them (each in the audit log),
// and saves screenshots to e2e/artifacts/. Exits non-zero with a message on failure.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.BASE_URL ?? "http://localhost:8080").replace(/\/$/, "");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const BERGAMOT = process.env.BERGAMOT_BIN ?? path.resolve(here, "../../bin/bergamot");
const ARTIFACTS = path.join(here, "artifacts");
const STATE_TIMEOUT = Number(process.env.E2E_STATE_TIMEOUT_MS ?? 90_000);
const LIVE_BUDGET_MS = Number(process.env.E2E_LIVE_BUDGET_MS ?? 1000);
const site = `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const email = `oncall@${site}.example`;
const password = `pw-${Math.random().toString(36).slice(2)}-X9`;
const fixture = (name) => fs.readFileSync(path.join(here, name), "utf8").replaceAll("{{SITE}}", site);

fs.rmSync(ARTIFACTS, { recursive: true, force: true });
fs.mkdirSync(ARTIFACTS, { recursive: true });
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bergamot-e2e-"));
const problems = [];
const results = [];
let passed = 0;
let page;

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const extra = await fn();
    passed++;
    results.push(`ok   ${name} (${Date.now() - t0} ms)${extra ? " — " + extra : ""}`);
    console.log(results.at(-1));
  } catch (e) {
    const shot = path.join(ARTIFACTS, `FAILED-${name.replace(/\W+/g, "-")}.png`);
    await page?.screenshot({ path: shot, fullPage: true }).catch(() => {});
    throw new Error(`step "${name}" failed after ${Date.now() - t0} ms: ${e.message}\n  screenshot: ${shot}\n  page: ${page?.url()}`);
  }
}

async function shot(name) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

const go = (hash) => page.goto(`${BASE}/#${hash}`);

// linkFromLog waits for the account link `bergamot run` logged for email
// (no mail settings: links go to the log) and returns it.
async function linkFromLog(email) {
  const log = process.env.E2E_LOG;
  if (!log) throw new Error("E2E_LOG is not set: cannot read the emailed link");
  for (let i = 0; i < 60; i++) {
    for (const line of fs.readFileSync(log, "utf8").split("\n")) {
      if (!line.includes('"link"')) continue;
      try {
        const rec = JSON.parse(line);
        if (rec.to === email && rec.link) return rec.link;
      } catch {
        /* not JSON */
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no link for ${email} in ${log}`);
}
const row = (text) => page.locator(".check-row", { has: page.locator(".check-name", { hasText: text }) });

/** submit hands the check a passive result through the API, as the signed-in user. */
async function submit(id, status, output) {
  await page.evaluate(async ([id, status, output]) => {
    const token = localStorage.getItem("bergamot.token");
    const r = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: "mutation($id: ID!, $s: Status!, $o: String!) { submitResult(checkId: $id, status: $s, output: $o) }", variables: { id, s: status, o: output } }),
    });
    const j = await r.json();
    if (j.errors) throw new Error(`submitResult: ${JSON.stringify(j.errors)}`);
  }, [id, status, output]);
}

async function waitStatus(name, status) {
  await row(name).and(page.locator(`[data-status="${status}"]`)).first().waitFor({ timeout: STATE_TIMEOUT });
}

let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1440, height: 900 },
    colorScheme: "dark",
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  await step("dashboard loads", async () => {
    const res = await page.goto(`${BASE}/`);
    if (!res || !res.ok()) throw new Error(`GET ${BASE}/ answered ${res?.status()}`);
    await page.locator("h1").first().waitFor();
  });

  await step("sign up a new site", async () => {
    await go("/signup");
    await page.fill("input[name=site]", site);
    await page.fill("input[name=email]", email);
    await page.fill("input[name=password]", password);
    await page.click("button[type=submit]");
    // Sign-up is confirmed by an emailed link (docs/limits.md); with no mail
    // settings `bergamot run` writes the link to its log (E2E_LOG).
    const link = await linkFromLog(email);
    await page.goto(BASE + link.slice(link.indexOf("/#")));
    await page.fill("input[type=password]", password);
    await page.click("button[type=submit]");
    await page.waitForURL(/#\/config/);
    await page.locator(".conn-live").waitFor({ timeout: 10_000 });
    return `site ${site}`;
  });

  await step("apply the fixture configuration", async () => {
    await page.locator(".editor textarea").waitFor();
    await page.fill(".editor textarea", fixture("fixture.xml"));
    await page.click("[data-action=validate]");
    const res = page.locator("[data-testid=config-result], [data-testid=config-errors]");
    await res.waitFor();
    if (await page.locator("[data-testid=config-errors]").count()) throw new Error(`dry run rejected the fixture: ${await res.innerText()}`);
    await page.click("[data-action=apply]");
    await page.locator("[data-testid=config-result]", { hasText: "Applied" }).waitFor();
    await shot("config-applied");
  });

  let httpId = "";
  await step("checks appear and reach their states", async () => {
    await go("/");
    await waitStatus("e2e-web / http", "CRITICAL");
    await waitStatus("e2e-web / disk", "WARNING");
    await shot("overview");
    await go("/checks");
    await waitStatus("e2e-web / load", "OK");
    await waitStatus("e2e-web / http", "CRITICAL");
    await shot("checks");
    httpId = await row("e2e-web / http").first().getAttribute("data-check-id");
    const out = await row("e2e-web / http").first().locator(".c-output").innerText();
    if (!out.includes("it broke")) throw new Error(`http output is ${JSON.stringify(out)}, want "it broke"`);
  });

  let passiveId = "";
  await step("checks page: a row's output follows a result that changes nothing else", async () => {
    // The site-wide subscription carries only changes of state; the page follows its rows' checks for the rest.
    await go("/checks");
    const passive = row("e2e-web / passive").first();
    await passive.waitFor();
    passiveId = await passive.getAttribute("data-check-id");
    await page.waitForTimeout(500); // let the page's subscription for its rows open
    await submit(passiveId, "OK", "e2e passive: first");
    await passive.locator(".c-output", { hasText: "e2e passive: first" }).waitFor({ timeout: 10_000 });
    const t0 = Date.now();
    await submit(passiveId, "OK", "e2e passive: output only");
    await passive.locator(".c-output", { hasText: "e2e passive: output only" }).waitFor({ timeout: 10_000 }).catch(() => {
      throw new Error("an OK result of an OK check (only its output changed) did not reach the row within 10 s: the checks page must follow its visible checks");
    });
    if ((await passive.getAttribute("data-status")) !== "OK") throw new Error(`passive row is ${await passive.getAttribute("data-status")}, want OK`);
    return `output-only result → row ${Date.now() - t0} ms`;
  });

  await step("a state change reaches a page that follows no checks", async () => {
    // The alerts page opens no checkUpdated subscription of its own: the header's count moves on the site-wide one.
    await go("/alerts");
    const counter = page.locator(".problem-counter");
    await counter.waitFor();
    await page.waitForTimeout(500);
    const count = async () => Number(/(\d+) problem/.exec(await counter.innerText())?.[1] ?? 0);
    const before = await count();
    const t0 = Date.now();
    await submit(passiveId, "CRITICAL", "e2e passive: down");
    await page.waitForFunction((n) => new RegExp(`^${n} problems?$`).test(document.querySelector(".problem-counter")?.textContent ?? ""), before + 1, { timeout: 10_000 }).catch(async () => {
      throw new Error(`the problem count stayed "${await counter.innerText()}" after a check went CRITICAL (was ${before})`);
    });
    const ms = Date.now() - t0;
    await submit(passiveId, "OK", "e2e passive: back");
    await page.waitForFunction((n) => new RegExp(`^${n} problems?$|^✓ All OK$`).test(document.querySelector(".problem-counter")?.textContent ?? ""), before, { timeout: 10_000 }).catch(async () => {
      throw new Error(`the problem count stayed "${await counter.innerText()}" after the check recovered (want ${before})`);
    });
    return `CRITICAL → count ${ms} ms`;
  });

  await step("execute now: live update in the DOM", async () => {
    await go(`/check/${encodeURIComponent(httpId)}`);
    await page.locator(".check-head[data-status=CRITICAL]").waitFor();
    await page.waitForTimeout(500); // let the page settle so the mutation we time is ours
    await page.evaluate(() => {
      const head = document.querySelector(".check-head");
      const before = head.getAttribute("data-last-check");
      window.__e2e = { before };
      new MutationObserver(() => {
        const el = document.querySelector(".check-head");
        if (!window.__e2e.t1 && el && el.getAttribute("data-last-check") !== before) window.__e2e.t1 = performance.now();
      }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ["data-last-check"] });
      document.querySelector("[data-action=execute]").addEventListener("click", () => (window.__e2e.t0 = performance.now()), { capture: true, once: true });
    });
    await page.click("[data-action=execute]");
    await page.waitForFunction(() => window.__e2e.t1, null, { timeout: 15_000 }).catch(() => {
      throw new Error("no live update reached the page within 15 s of Execute now (checkUpdated must fire on every result)");
    });
    const ms = await page.evaluate(() => window.__e2e.t1 - window.__e2e.t0);
    if (ms > LIVE_BUDGET_MS) throw new Error(`click to DOM update took ${ms.toFixed(0)} ms, budget ${LIVE_BUDGET_MS} ms`);
    return `click → DOM ${ms.toFixed(0)} ms`;
  });

  await step("acknowledge the problem", async () => {
    await page.click("[data-action=acknowledge]");
    await page.fill(".modal textarea[name=comment]", "e2e: looking into it");
    await page.click(".modal button[type=submit]");
    await page.locator(".check-head .chip-ack").waitFor();
  });

  await step("schedule downtime", async () => {
    await page.click("[data-action=downtime]");
    await page.fill(".modal textarea[name=comment]", "e2e: maintenance");
    await page.click(".modal button[type=submit]");
    await page.locator(".check-head .chip-dt").first().waitFor();
    await shot("check-detail");
  });

  await step("config error shown at its line", async () => {
    const bad = fixture("fixture-invalid.xml");
    const line = bad.split("\n").findIndex((l) => l.includes("e2e-no-such-command")) + 1;
    await go("/config");
    await page.locator(".editor textarea").waitFor();
    await page.fill(".editor textarea", bad);
    await page.click("[data-action=validate]");
    await page.locator("[data-testid=config-errors]").waitFor();
    await page.locator(`.ln-err[data-line="${line}"]`).waitFor({ timeout: 5000 }).catch(async () => {
      const marked = await page.locator(".ln-err").evaluateAll((els) => els.map((e) => e.getAttribute("data-line")));
      const text = await page.locator("[data-testid=config-errors]").innerText();
      throw new Error(`expected an error marked at line ${line}; marked lines: [${marked}]; errors: ${text}`);
    });
    const text = await page.locator("[data-testid=config-errors]").innerText();
    if (!text.includes("e2e-no-such-command")) throw new Error(`error text does not name the unknown command: ${text}`);
    await shot("config-error");
    return `line ${line}`;
  });

  await step("workers & zones: create a key, run the page's worker command, revoke", async () => {
    // The page's own command, run as shown (from the directory holding the key file).
    await go("/workers");
    await page.locator("[data-action=create-key]").waitFor();
    await page.fill("input[aria-label=Zone]", "e2e-edge");
    await page.fill("input[aria-label='Key name']", "e2e-a");
    await page.click("[data-action=create-key]");
    const key = await page.locator(".fresh-key [data-field=key]").innerText();
    const command = await page.locator(".fresh-key [data-field=command]").innerText();
    const want = `bergamot worker --hub ${BASE.replace(/^http/, "ws")}/worker --key-file e2e-edge.key`;
    if (command !== want) throw new Error(`the page's command is ${JSON.stringify(command)}, want ${JSON.stringify(want)}`);
    await shot("workers-new-key");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bergamot-e2e-worker-"));
    fs.writeFileSync(path.join(dir, "e2e-edge.key"), key + "\n", { mode: 0o600 });
    const env = { ...process.env, BERGAMOT_DATA: dir };
    delete env.DATABASE_URL;
    const [, ...args] = command.split(" ");
    const worker = spawn(BERGAMOT, [...args, "--name", "e2e-worker"], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    worker.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((resolve) => worker.on("exit", resolve));
    try {
      await page.locator("[data-zone=e2e-edge] .worker-row", { hasText: "e2e-worker" }).waitFor({ timeout: 30_000 }).catch(() => {
        throw new Error(`the remote worker did not appear in zone e2e-edge within 30 s; its log:\n${stderr.slice(-2000)}`);
      });
      const addr = await page.locator("[data-zone=e2e-edge] .worker-row [data-field=address]").innerText();
      if (addr !== "127.0.0.1") throw new Error(`worker address shown as ${addr}, want 127.0.0.1`);
      await page.click(".fresh-key button:text-is('Done')");
      await shot("workers");
      page.once("dialog", (d) => d.accept());
      const t0 = Date.now();
      await page.locator("[aria-label='Worker keys'] .tr", { hasText: "e2e-a" }).locator("[data-action=revoke-key]").click();
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 30_000))]);
      if (code === 0 || code === "still running") throw new Error(`after revoking its key the worker ${code === 0 ? "exited 0" : "is still running after 30 s"}`);
      await page.locator("[data-zone=e2e-edge] .worker-row").waitFor({ state: "detached", timeout: 30_000 });
      return `revoke → worker exited ${Date.now() - t0} ms`;
    } finally {
      worker.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  await step("account: change password, end another session, see both in the audit log", async () => {
    const newPassword = `${password}-changed`;
    await go("/account");
    await page.locator("[data-action=change-password]").waitFor();
    await page.fill("input[autocomplete=current-password]", password);
    await page.locator("input[autocomplete=new-password]").nth(0).fill(newPassword);
    await page.locator("input[autocomplete=new-password]").nth(1).fill(newPassword);
    await page.click("[data-action=change-password]");
    await page.getByText("Password changed").first().waitFor();
    // A second session, signed in elsewhere (here: this script) with the new password.
    const res = await fetch(`${BASE}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "User-Agent": "e2e-other-device" },
      body: JSON.stringify({ query: "mutation($s: String!, $e: String!, $p: String!) { login(site: $s, email: $e, password: $p) { token } }", variables: { s: site, e: email, p: newPassword } }),
    });
    const j = await res.json();
    if (j.errors || !j.data?.login?.token) throw new Error(`signing in with the new password: ${JSON.stringify(j.errors ?? j)}`);
    await page.reload();
    const other = page.locator("[aria-label=Sessions] .tr[data-session=other]");
    await other.first().waitFor();
    if ((await other.count()) !== 1) throw new Error(`the session list shows ${await other.count()} other sessions, want 1 (changing the password should have ended the rest)`);
    await shot("account");
    await other.first().locator("button").click();
    await other.first().waitFor({ state: "detached" });
    const after = await fetch(`${BASE}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${j.data.login.token}` },
      body: JSON.stringify({ query: "{ me { email } }" }),
    }).then((r) => r.json());
    if (!after.errors) throw new Error(`the ended session still works: ${JSON.stringify(after)}`);
    await go("/audit");
    for (const action of ["changePassword", "revokeSession"]) {
      await page.locator(`[aria-label='Audit log'] .tr[data-action=${action}][data-outcome=ok]`).first().waitFor().catch(() => {
        throw new Error(`the audit log shows no successful ${action}`);
      });
    }
    await shot("audit");
  });

  await step("members: invite, require a new password, reset second factors, disable, remove; each audited", async () => {
    const member = `mia@${site}.example`;
    const memberPassword = `${password}-mia`;
    await go("/settings");
    await page.fill("input[aria-label=Email]", member);
    await page.click("button:text-is('Invite user')");
    const link = await linkFromLog(member);
    const gql = async (token, query, variables) => {
      const r = await fetch(`${BASE}/graphql`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      }).then((r) => r.json());
      return r;
    };
    const accepted = await gql("", "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, password: $p) { token } }", { t: new URL(BASE + link.slice(link.indexOf("/#")).replace("/#", "")).searchParams.get("token"), p: memberPassword });
    const memberSession = accepted.data?.acceptInvitation?.token;
    if (!memberSession) throw new Error(`accepting the invitation: ${JSON.stringify(accepted.errors ?? accepted)}`);
    await page.reload();
    const mia = page.locator("[aria-label=Users] .tr", { hasText: member });
    await mia.waitFor();
    await mia.locator("[data-action=require-password-change]").click();
    await mia.locator(".chip", { hasText: "must change password" }).waitFor();
    page.once("dialog", (d) => d.accept());
    await mia.locator("[data-action=reset-second-factors]").click();
    await page.getByText(`${member} had no second factors`).first().waitFor();
    await mia.locator("[data-action=disable-user]").click();
    await mia.locator(".chip", { hasText: "disabled" }).waitFor();
    await shot("settings-members");
    const disabled = await gql(memberSession, "{ me { email } }");
    if (!disabled.errors) throw new Error(`a disabled member's session still works: ${JSON.stringify(disabled)}`);
    page.once("dialog", (d) => d.accept());
    await mia.locator("[data-action=remove-member]").click();
    await mia.waitFor({ state: "detached" });
    await go("/audit");
    for (const action of ["inviteUser", "requirePasswordChange", "resetSecondFactors", "disableUser", "removeMember"]) {
      await page.locator(`[aria-label='Audit log'] .tr[data-action=${action}][data-outcome=ok]`).first().waitFor().catch(() => {
        throw new Error(`the audit log shows no successful ${action}`);
      });
    }
  });

  await step("other pages render", async () => {
    for (const [hash, name, sel] of [["/alerts", "alerts", "h1"], ["/groups", "groups", "h1"], ["/locations", "locations", "h1"], ["/workers", "workers", "h1"], ["/teams", "teams", "h1"], ["/settings", "settings", ".panel"]]) {
      await go(hash);
      await page.locator(sel).first().waitFor();
      await page.waitForTimeout(400);
      if (await page.locator(".errorbox").count()) throw new Error(`${hash}: ${await page.locator(".errorbox").first().innerText()}`);
      await shot(name);
    }
  });

  await step("phone layout", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go("/");
    await row("e2e-web / http").first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) throw new Error(`page is ${overflow}px wider than a phone screen`);
    await shot("overview-phone");
  });

  if (problems.length) throw new Error(`the browser reported errors:\n  ${problems.join("\n  ")}`);
  console.log(`${passed} passed, 0 failed`);
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
} catch (e) {
  console.error(`\nE2E FAILED: ${e.message}`);
  if (problems.length) console.error(`browser errors so far:\n  ${problems.join("\n  ")}`);
  console.error(`${passed} passed, 1 failed`);
  await context?.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
