// Components rendered into happy-dom, fed by an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Root } from "../app";
import { History, segments } from "../pages/check";
import { filterFromQuery } from "../pages/checks";
import { Editor, droppedObjects, errorLines, markAbsent, topLevelObjects } from "../pages/config";
import { buildTree } from "../pages/tree";
import { check, fakeApp, settle, update } from "../store/testdata";
import { StatusBadge } from "./status";
import { AppContext } from "../store/app";
import { ConnPill, Toasts } from "./layout";

const makeApp = fakeApp;

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  location.hash = "#/";
});
afterEach(() => {
  render(null, root);
  root.remove();
});

const ME = () => ({ me: { id: "u", email: "a@b.c", displayName: "A", role: "ADMIN" }, site: { id: "s", name: "acme", summary: "" } });

describe("StatusBadge", () => {
  it("shows the status word and an icon, not colour alone", () => {
    render(<StatusBadge status="CRITICAL" />, root);
    const b = root.querySelector(".badge")!;
    expect(b.textContent).toContain("CRITICAL");
    expect(b.querySelector(".badge-icon")!.textContent).toBe("✕");
    expect(b.className).toContain("st-critical");
  });
  it("marks soft states in words", () => {
    render(<StatusBadge status="WARNING" soft />, root);
    expect(root.querySelector(".badge")!.getAttribute("title")).toContain("soft");
  });
});

describe("Overview", () => {
  const a = check("a", "OK", {}, "disk"), b = check("b", "CRITICAL", {}, "http"), c = check("c", "WARNING", {}, "load");

  it("shows counts and the problems list, then follows live updates without reload", async () => {
    const { app, flush, calls } = makeApp({
      Me: ME,
      Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [{ status: "OK", count: 1 }, { status: "CRITICAL", count: 1 }, { status: "WARNING", count: 1 }] }, checks: { totalCount: 2, nodes: [b, c] } }),
    });
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    const tile = (s: string) => root.querySelector(`.tile[data-status="${s}"] .tile-count`)!.textContent;
    expect(tile("CRITICAL")).toBe("1");
    expect(tile("OK")).toBe("1");
    const rows = () => [...root.querySelectorAll(".problems-panel .check-row")].map((r) => `${r.getAttribute("data-status")}:${r.querySelector(".check-name")!.textContent}`);
    expect(rows()).toEqual(["CRITICAL:host-b / http", "WARNING:host-c / load"]);

    const overviewCalls = calls.filter((x) => x === "Overview").length;
    // 1,000 updates in one frame: the last one wins, one render.
    for (let i = 0; i < 999; i++) app.receiveCheckUpdate(update(a, i % 2 ? "OK" : "UNKNOWN"));
    app.receiveCheckUpdate(update(a, "CRITICAL"));
    app.receiveCheckUpdate(update(b, "OK"));
    expect(rows()).toEqual(["CRITICAL:host-b / http", "WARNING:host-c / load"]); // not yet: waits for the frame
    flush();
    expect(rows()).toEqual(["CRITICAL:host-a / disk", "WARNING:host-c / load"]);
    expect(tile("OK")).toBe("1");
    expect(tile("CRITICAL")).toBe("1");
    expect(calls.filter((x) => x === "Overview").length).toBe(overviewCalls); // no refetch needed
    expect(root.querySelector(".problem-counter")!.textContent).toBe("2 problems");
  });

  it("says all is well in words when nothing is wrong", async () => {
    const { app } = makeApp({ Me: ME, Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [{ status: "OK", count: 3 }] }, checks: { totalCount: 0, nodes: [] } }) });
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    expect(root.querySelector(".all-ok")!.textContent).toContain("All 3 checks are OK");
  });

  it("sends a signed-out visitor to the sign-in form", async () => {
    const { app } = makeApp({ Me: () => { throw new Error("unreachable: no Me handler wanted"); } });
    app.tokens.set(null);
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    expect(location.hash).toBe("#/signin");
    expect(root.querySelector("h1")!.textContent).toBe("Sign in");
  });

  it("toasts a new alert from the live feed", async () => {
    const { app, flush } = makeApp({ Me: ME, Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } }) });
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    act(() => app.receiveAlert({ id: "al", check: b, status: "CRITICAL", output: "it broke", openedAt: "", updatedAt: "", recoveredAt: null, acknowledged: false, acknowledgedAt: null, acknowledgedBy: null, escalationLevel: 0 }));
    flush();
    const t = root.querySelector(".toast")!;
    expect(t.textContent).toContain("Critical: host-b / http");
    expect(t.textContent).toContain("it broke");
  });
});

describe("connection pill", () => {
  it("shows live and reconnecting in words", () => {
    const { app } = makeApp({});
    act(() => render(<AppContext.Provider value={app}><ConnPill /></AppContext.Provider>, root));
    expect(root.textContent).toBe("Offline");
    act(() => app.conn.set("live"));
    expect(root.textContent).toBe("Live");
    act(() => app.conn.set("reconnecting"));
    expect(root.textContent).toBe("Reconnecting…");
  });
});

describe("config editor", () => {
  it("marks validation errors at their lines", () => {
    const errs = [{ message: "unknown command", file: "site.xml", line: 3, object: "host a" }, { message: "bad", file: null, line: null, object: null }];
    expect([...errorLines(errs).keys()]).toEqual([3]);
    render(<Editor value={"<a>\n<b/>\n<c/>\n</a>"} onChange={() => {}} errors={errs} />, root);
    const marked = [...root.querySelectorAll(".ln-err")].map((e) => e.getAttribute("data-line"));
    expect(marked).toEqual(["3"]);
    expect(root.querySelectorAll(".ln")).toHaveLength(4);
    expect(root.querySelector(".ln-err")!.getAttribute("title")).toBe("unknown command");
  });
});

describe("config editor: deleted objects", () => {
  const stored = `<?xml version="1.0"?>
<bergamot site="acme">
    <parameter name="p"/>
    <!-- <host name="commented"/> -->
    <command name="ping" engine="nagios"><parameter name="command_line">check_ping</parameter></command>
    <host name="web1" address="10.0.0.1">
        <service name="http"><check-command command="ping"/></service>
    </host>
    <host name='a&amp;b' address="10.0.0.2"/>
</bergamot>
`;

  it("finds the named objects at the top level only", () => {
    expect(topLevelObjects(stored)).toEqual([{ tag: "command", name: "ping" }, { tag: "host", name: "web1" }, { tag: "host", name: "a&b" }]);
  });

  it("lists objects deleted from the text and marks them absent", () => {
    const edited = stored.replace(/ {4}<host name="web1"[\s\S]*?<\/host>\n/, "").replace(/<service name="http">.*<\/service>/, "");
    const gone = droppedObjects(stored, edited);
    expect(gone).toEqual([{ tag: "host", name: "web1" }]);
    const marked = markAbsent(edited, [...gone, { tag: "host", name: 'x"<y' }]);
    expect(marked).toContain('    <host name="web1" state="absent"/>\n    <host name="x&quot;&lt;y" state="absent"/>\n</bergamot>');
    expect(droppedObjects(stored, marked)).toEqual([]);
  });

  it("warns on the page when Apply would keep a deleted host", async () => {
    location.hash = "#/config";
    const { app } = makeApp({ Me: ME, Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } }), Config: () => ({ configXml: stored, configRevisions: [] }) });
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    const ta = root.querySelector<HTMLTextAreaElement>(".editor textarea")!;
    expect(root.querySelector("[data-testid=config-dropped]")).toBeNull();
    await act(async () => {
      ta.value = stored.replace(/ {4}<host name="web1"[\s\S]*?<\/host>\n/, "");
      ta.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await settle();
    const note = root.querySelector("[data-testid=config-dropped]")!;
    expect(note.textContent).toContain('host "web1" would stay');
    await act(async () => note.querySelector<HTMLButtonElement>("[data-action=mark-absent]")!.click());
    await settle();
    expect(root.querySelector<HTMLTextAreaElement>(".editor textarea")!.value).toContain('<host name="web1" state="absent"/>');
    expect(root.querySelector("[data-testid=config-dropped]")).toBeNull();
  });
});

describe("page helpers", () => {
  it("reads check filters from the URL", () => {
    expect(filterFromQuery(new URLSearchParams("q=web&status=CRITICAL,WARNING,BOGUS&hard=no&ack=yes&group=db&problems=yes"))).toEqual({
      search: "web", status: ["CRITICAL", "WARNING"], hard: false, acknowledged: true, group: "db", problems: true,
    });
    expect(filterFromQuery(new URLSearchParams(""))).toEqual({});
  });

  it("builds trees from parents and cuts cycles", () => {
    const n = (name: string, parents: string[]) => ({ name, summary: null, status: "OK" as const, counts: [], parents });
    const roots = buildTree([n("all", []), n("web", ["all"]), n("db", ["all"]), n("a", ["b"]), n("b", ["a"]), n("dbx", ["db"])]);
    expect(roots.map((r) => r.name)).toEqual(["all"]);
    expect(roots[0].children.map((c) => c.name)).toEqual(["db", "web"]);
    expect(roots[0].children[0].children.map((c) => c.name)).toEqual(["dbx"]);
  });

  it("turns state history into timeline spans", () => {
    const t = (h: number) => Date.UTC(2025, 0, 1, h);
    const segs = segments(
      [
        { at: new Date(t(5)).toISOString(), status: "OK", previous: "CRITICAL", hard: true, attempt: 1, output: "" },
        { at: new Date(t(2)).toISOString(), status: "CRITICAL", previous: "OK", hard: true, attempt: 1, output: "" },
      ],
      "OK", t(0), t(10),
    );
    expect(segs.map((s) => [s.status, (s.end - s.start) / 3600e3])).toEqual([["OK", 2], ["CRITICAL", 3], ["OK", 5]]);
    const fresh = segments([{ at: new Date(t(8)).toISOString(), status: "CRITICAL", previous: "PENDING", hard: true, attempt: 1, output: "" }], "CRITICAL", t(0), t(10));
    expect(fresh.map((s) => [s.status, (s.end - s.start) / 3600e3])).toEqual([[null, 8], ["CRITICAL", 2]]);
  });
});

describe("toasts", () => {
  it("shows at most three, counts the rest and dismisses all", () => {
    const { app } = makeApp({});
    act(() => render(<AppContext.Provider value={app}><Toasts /></AppContext.Provider>, root));
    act(() => {
      for (let i = 1; i <= 7; i++) app.toast({ kind: "problem", title: `alert ${i}` }, 60_000);
    });
    const shown = [...root.querySelectorAll(".toast")].map((t) => t.querySelector(".toast-title")!.textContent);
    expect(shown).toEqual(["alert 5", "alert 6", "alert 7"]);
    expect(root.querySelector(".toasts-more")!.textContent).toBe("and 4 more");
    expect(document.documentElement.classList.contains("has-toasts")).toBe(true);
    const clear = [...root.querySelectorAll("button")].find((b) => b.textContent === "Dismiss all")!;
    act(() => void clear.dispatchEvent(new MouseEvent("click", { bubbles: true })));
    expect(root.querySelectorAll(".toast").length).toBe(0);
    expect(root.querySelector(".toasts-bar")).toBeNull();
    expect(document.documentElement.classList.contains("has-toasts")).toBe(false);
  });

  it("shows a single toast without the summary bar", () => {
    const { app } = makeApp({});
    act(() => render(<AppContext.Provider value={app}><Toasts /></AppContext.Provider>, root));
    act(() => void app.toast({ kind: "info", title: "Configuration applied" }, 60_000));
    expect(root.querySelectorAll(".toast").length).toBe(1);
    expect(root.querySelector(".toasts-bar")).toBeNull();
  });
});

describe("state history", () => {
  it("labels each change soft or hard in words", () => {
    const now = Date.parse("2026-01-02T12:00:00Z");
    const nodes = [
      { at: "2026-01-02T11:58:00Z", status: "CRITICAL", previous: "WARNING", hard: true, attempt: 3, output: "down" },
      { at: "2026-01-02T11:50:00Z", status: "WARNING", previous: "OK", hard: false, attempt: 1, output: "slow" },
    ] as any;
    act(() => render(<History nodes={nodes} current={"CRITICAL" as any} now={now} />, root));
    const items = [...root.querySelectorAll(".history-list li")];
    expect(items.map((li) => li.querySelector(".state-type")!.textContent)).toEqual(["hard", "soft"]);
    expect(items[1].querySelector(".state-type")!.getAttribute("title")).toContain("attempt 1");
  });
});

describe("check page: dependencies", () => {
  it("lists the checks it depends on and says when it is encompassed", async () => {
    const db = check("db", "CRITICAL", {}, "postgres");
    const app1 = { ...check("app", "CRITICAL", { encompassed: true } as any, "app"), description: null, enabled: true,
      state: { ...check("app", "CRITICAL").state, encompassed: true, longOutput: null, flapPercent: 0, worker: null, runtimeMs: null, perfdata: [] },
      dependsOn: [db], history: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }, alerts: [], downtimes: [], comments: [] };
    location.hash = "#/check/app";
    const { app } = makeApp({
      Me: ME,
      Overview: () => ({ site: { id: "s", name: "acme", summary: "", statusCounts: [] }, checks: { totalCount: 0, nodes: [] } }),
      CheckDetail: () => ({ check: app1 }),
      Metrics: () => ({ check: { id: "app", metrics: [] } }),
    });
    await act(async () => {
      render(<Root app={app} />, root);
      await app.boot();
    });
    await settle();
    const panel = root.querySelector("[data-testid=depends-on]");
    expect(panel).not.toBeNull();
    expect(panel!.textContent).toContain("Depends on");
    expect(panel!.textContent).toContain("postgres");
    expect(panel!.textContent).toContain("encompassed and raises no alert");
  });
});
