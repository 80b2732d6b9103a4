// The page frame: top bar (site, connection, problems, theme), navigation, toasts.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useApp, VISIBLE_TOASTS } from "../store/app";
import { totalChecks } from "../store/checks";
import { useStore } from "../store/store";
import { applyTheme, loadTheme, nextTheme, type ThemeChoice } from "../theme";
import { isProblem, statusClass } from "../status";

const NAV: { path: string; label: string; icon: string }[] = [
  { path: "/", label: "Overview", icon: "◉" },
  { path: "/checks", label: "Hosts & services", icon: "☰" },
  { path: "/alerts", label: "Alerts", icon: "⚑" },
  { path: "/groups", label: "Groups", icon: "▦" },
  { path: "/locations", label: "Locations", icon: "⌂" },
  { path: "/slas", label: "SLAs", icon: "◔" },
  { path: "/status-pages", label: "Status pages", icon: "◎" },
  { path: "/metrics-exports", label: "Metrics export", icon: "⇪" },
  { path: "/config", label: "Configuration", icon: "✎" },
  { path: "/workers", label: "Workers & zones", icon: "▤" },
  { path: "/agents", label: "Host agents", icon: "◈" },
  { path: "/teams", label: "Teams & contacts", icon: "☺" },
  { path: "/settings", label: "Site settings", icon: "⚙" },
  { path: "/audit", label: "Audit log", icon: "☷" },
  { path: "/account", label: "Your account", icon: "☻" },
  { path: "/security", label: "Account security", icon: "⚿" },
];

export function ConnPill() {
  const app = useApp();
  const conn = useStore(app.conn, (c) => c);
  const label = conn === "live" ? "Live" : conn === "reconnecting" ? "Reconnecting…" : conn === "connecting" ? "Connecting…" : "Offline";
  return (
    <span class={`conn conn-${conn}`} role="status" aria-live="polite" title={conn === "live" ? "Receiving live updates" : "Live updates paused; data will refresh when the connection returns"} data-conn={conn}>
      <span class="conn-dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function ProblemCounter() {
  const app = useApp();
  const { n, worst, total } = useStore(app.state, (s) => {
    let n = 0;
    let worst = "OK";
    const order = ["ERROR", "DISCONNECTED", "CRITICAL", "TIMEOUT", "UNKNOWN", "WARNING"];
    if (s.counts) {
      for (const [st, c] of Object.entries(s.counts)) if (isProblem(st as any)) n += c;
      worst = order.find((o) => (s.counts as any)[o] > 0) ?? "OK";
    }
    return { n, worst, total: totalChecks(s.counts) };
  });
  if (total === 0) return null;
  return (
    <a href="#/" class={`problem-counter ${statusClass(worst as any)}`} title="Checks with a problem">
      {n === 0 ? "✓ All OK" : `${n} problem${n === 1 ? "" : "s"}`}
    </a>
  );
}

function ThemeButton() {
  const [t, setT] = useState<ThemeChoice>(loadTheme);
  useEffect(() => applyTheme(t), [t]);
  const label = t === "system" ? "Theme: system" : t === "light" ? "Theme: light" : "Theme: dark";
  return (
    <button class="icon-btn" onClick={() => setT(nextTheme(t))} title={`${label} (click to change)`} aria-label={label}>
      {t === "dark" ? "☾" : t === "light" ? "☀" : "◐"}
    </button>
  );
}

function NotifyButton() {
  const app = useApp();
  const p = useStore(app.notifyPermission, (x) => x);
  if (p === "unsupported" || p === "granted") return null;
  return (
    <button class="btn btn-small btn-ghost notify-btn" onClick={() => void app.askNotifications()} disabled={p === "denied"} title={p === "denied" ? "Desktop notifications are blocked in this browser's settings" : "Ask this browser to show a desktop notification for each new alert (alerting itself is always on)"}>
      {p === "denied" ? "Desktop alerts blocked" : "Desktop alerts"}
    </button>
  );
}

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  const app = useApp();
  const auth = useStore(app.auth, (a) => a);
  const [menu, setMenu] = useState(false);
  useEffect(() => setMenu(false), [path]);
  const active = (p: string) => (p === "/" ? path === "/" : path.startsWith(p) || (p === "/checks" && path.startsWith("/check/")));
  return (
    <div class={`shell ${menu ? "menu-open" : ""}`}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header class="topbar">
        <button class="icon-btn menu-btn" aria-label="Menu" aria-expanded={menu} onClick={() => setMenu(!menu)}>
          ☰
        </button>
        <a class="brand" href="#/">
          <span class="brand-mark" aria-hidden="true" />
          <span class="brand-name">Bergamot</span>
        </a>
        {auth.status === "signedIn" && <span class="site-name" title={auth.site.summary}>{auth.site.name}</span>}
        <span class="topbar-spacer" />
        <ProblemCounter />
        <ConnPill />
        <NotifyButton />
        <ThemeButton />
        {auth.status === "signedIn" && (
          <button class="btn btn-small btn-ghost signout" onClick={() => void app.signOut()} title={`Signed in as ${auth.user.email}`}>
            Sign out
          </button>
        )}
      </header>
      <nav class="sidebar" aria-label="Main">
        {NAV.map((n) => (
          <a key={n.path} href={`#${n.path}`} class={`nav-item ${active(n.path) ? "active" : ""}`} aria-current={active(n.path) ? "page" : undefined}>
            <span class="nav-icon" aria-hidden="true">{n.icon}</span>
            {n.label}
          </a>
        ))}
      </nav>
      <main id="main" class="main" tabIndex={-1}>
        {children}
      </main>
      <Toasts />
    </div>
  );
}

export function Toasts() {
  const app = useApp();
  const toasts = useStore(app.toasts, (t) => t);
  const visible = toasts.slice(-VISIBLE_TOASTS);
  const more = toasts.length - visible.length;
  useEffect(() => {
    // Lets the page scroll its last buttons clear of the toast stack.
    document.documentElement.classList.toggle("has-toasts", toasts.length > 0);
  }, [toasts.length > 0]);
  useEffect(() => () => document.documentElement.classList.remove("has-toasts"), []);
  return (
    <div class="toasts" aria-live="polite" role="region" aria-label="Notifications">
      {(more > 0 || toasts.length > 1) && (
        <div class="toasts-bar">
          {more > 0 && <span class="toasts-more">and {more} more</span>}
          <button class="link-btn toasts-clear" onClick={() => app.dismissAll()}>
            Dismiss all
          </button>
        </div>
      )}
      {visible.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}${t.status ? " " + statusClass(t.status as any) : ""}`} role={t.kind === "error" || t.kind === "problem" ? "alert" : "status"}>
          <div class="toast-text">
            {t.href ? <a href={t.href} class="toast-title">{t.title}</a> : <span class="toast-title">{t.title}</span>}
            {t.body && <span class="toast-body">{t.body}</span>}
          </div>
          <button class="icon-btn toast-close" aria-label="Dismiss" onClick={() => app.dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
