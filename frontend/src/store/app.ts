// App wires the GraphQL client, the live socket and the shared stores.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiError, GraphQLClient, localTokenStore, type TokenStore } from "../api/client";
import { Live, type ConnState, type LiveOptions } from "../api/live";
import * as Q from "../api/queries";
import type { Alert, CheckFilter, CheckSummary, CheckUpdate, NotificationEvent, Site, StatusCount, User } from "../api/types";
import { statusWord } from "../status";
import { Batcher, type Schedule } from "./batcher";
import { applyAlertUpdates, applyCheckUpdates, displayName, initialLiveState, setOverview, type LiveState } from "./checks";
import { Store } from "./store";

export type AuthState =
  | { status: "unknown" }
  | { status: "signedOut" }
  | { status: "signedIn"; user: User; site: Pick<Site, "id" | "name" | "summary"> };

/** MAX_TOASTS is how many toasts are kept (older ones are dropped). */
export const MAX_TOASTS = 50;
/** VISIBLE_TOASTS is how many toasts are shown at once. */
export const VISIBLE_TOASTS = 3;

/**
 * GLOBAL_CHECK_FILTER is the filter of the site-wide checkUpdated
 * subscription that feeds counts, the problem set, roll-ups and the cache:
 * only updates that change what a status view shows. Per-result details
 * (output, last check) of the checks a page shows come from that page's own
 * subscription (followChecks).
 */
export const GLOBAL_CHECK_FILTER: CheckFilter = { changed: true };

/** LiveSocket is what the App needs of the live socket (Live, or a fake in tests). */
export type LiveSocket = Pick<Live, "subscribe" | "dispose">;

/** A page's own checkUpdated subscription (see followChecks). */
interface Follower {
  filter: CheckFilter;
  stop: (() => void) | null;
}

export interface Toast {
  id: number;
  kind: "problem" | "recovery" | "info" | "error";
  title: string;
  body?: string;
  href?: string;
  /** status colours the toast's edge for check events. */
  status?: string;
}

export interface AppOptions {
  tokens?: TokenStore;
  fetch?: typeof fetch;
  /** Set false in tests to keep the socket closed. */
  live?: boolean;
  /** How live updates are batched (default: once per animation frame). */
  schedule?: Schedule;
  /** For tests: opens the live socket instead of a real Live. */
  socket?: (opts: LiveOptions) => LiveSocket;
}

/** App is the dashboard's data layer, shared through AppContext. */
export class App {
  readonly tokens: TokenStore;
  readonly client: GraphQLClient;
  readonly auth = new Store<AuthState>({ status: "unknown" });
  readonly state = new Store<LiveState>(initialLiveState());
  readonly conn = new Store<ConnState>("offline");
  readonly toasts = new Store<Toast[]>([]);
  readonly notifyPermission = new Store<NotificationPermission | "unsupported">(
    typeof Notification === "undefined" ? "unsupported" : Notification.permission,
  );
  private live: LiveSocket | null = null;
  private unsubs: (() => void)[] = [];
  private followers = new Set<Follower>();
  private resyncers = new Set<() => void>();
  private checkListeners = new Set<(batch: CheckUpdate[]) => void>();
  private toastSeq = 0;
  private lastBrowserNote = 0;
  private recentNotes = new Map<string, number>();
  private burst = 0;
  private burstToast = 0;
  private readonly checkBatch: Batcher<CheckUpdate>;
  private readonly alertBatch: Batcher<Alert>;
  private readonly opts: AppOptions;

  constructor(opts: AppOptions = {}) {
    this.opts = opts;
    this.tokens = opts.tokens ?? localTokenStore;
    this.client = new GraphQLClient({ tokens: this.tokens, fetch: opts.fetch, onUnauthenticated: () => this.expire() });
    this.checkBatch = new Batcher((items) => {
      this.state.set((s) => applyCheckUpdates(s, items));
      if (this.state.get().countsStale) this.refreshSoon();
      for (const fn of [...this.checkListeners]) fn(items);
    }, opts.schedule);
    this.alertBatch = new Batcher((items) => this.state.set((s) => applyAlertUpdates(s, items)), opts.schedule);
  }

  /** boot finds out whether the stored token (or cookie) is still good. */
  async boot() {
    try {
      const d = await this.client.request<{ me: User; site: Site }>(Q.ME);
      this.signedIn(d.me, d.site);
    } catch (e) {
      if (e instanceof ApiError && (e.code === "NETWORK" || e.code.startsWith("HTTP_5")) && this.tokens.get()) {
        // Server unreachable or restarting: keep the session and try again.
        setTimeout(() => void this.boot(), 3000);
        return;
      }
      this.auth.set({ status: "signedOut" });
    }
  }

  /** signedIn records a session (from login, signUp or boot) and goes live. */
  signedIn(user: User, site: Pick<Site, "id" | "name" | "summary">, token?: string) {
    if (token) this.tokens.set(token);
    this.auth.set({ status: "signedIn", user, site });
    this.startLive();
    void this.refreshOverview();
  }

  /** signOut ends the session on the server and here. */
  async signOut() {
    try {
      await this.client.request(Q.LOGOUT);
    } catch {
      /* already gone */
    }
    this.clearSession();
  }

  private expire() {
    if (this.auth.get().status === "signedIn") this.toast({ kind: "info", title: "Your session ended. Please sign in again." });
    this.clearSession();
  }

  private clearSession() {
    this.tokens.set(null);
    this.stopLive();
    this.state.set(initialLiveState());
    this.auth.set({ status: "signedOut" });
  }

  /** refreshOverview refetches counts and the problem list. */
  async refreshOverview() {
    const d = await this.client.request<{ site: Site; checks: { nodes: CheckSummary[] } }>(Q.OVERVIEW);
    this.state.set((s) => setOverview(s, d.site.statusCounts as StatusCount[], d.checks.nodes));
  }

  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  /** refreshSoon refetches the overview once, half a second from now, however often it is asked. */
  refreshSoon() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshOverview().catch(() => {});
    }, 500);
  }

  /** onResync registers a refetch to run after the socket comes back. */
  onResync(fn: () => void): () => void {
    this.resyncers.add(fn);
    return () => this.resyncers.delete(fn);
  }

  /** onCheckUpdates registers a listener for each batch of live check updates (after the state holds them). */
  onCheckUpdates(fn: (batch: CheckUpdate[]) => void): () => void {
    this.checkListeners.add(fn);
    return () => this.checkListeners.delete(fn);
  }

  private resync() {
    void this.refreshOverview().catch(() => {});
    for (const fn of this.resyncers) fn();
  }

  /**
   * followChecks opens a checkUpdated subscription with filter (say the ids
   * of the checks a page shows) feeding the same cache as the site-wide one,
   * for the results that subscription leaves out (output, last check). It
   * lasts until the returned function is called, across reconnects (the
   * socket re-subscribes; pages refetch on resync) and sign-ins.
   */
  followChecks(filter: CheckFilter): () => void {
    const f: Follower = { filter, stop: null };
    this.followers.add(f);
    if (this.live) this.openFollower(f);
    return () => {
      this.followers.delete(f);
      f.stop?.();
      f.stop = null;
    };
  }

  private openFollower(f: Follower) {
    f.stop = this.live!.subscribe<{ checkUpdated: CheckUpdate }>(Q.SUB_CHECKS, { filter: f.filter }, (d) => this.receiveCheckUpdate(d.checkUpdated));
  }

  /** receiveCheckUpdate queues one live update (exposed for tests). */
  receiveCheckUpdate(u: CheckUpdate) {
    this.checkBatch.push(u);
  }

  /** receiveAlert queues one alert update and toasts new problems. */
  receiveAlert(a: Alert) {
    const known = this.state.get().alerts.has(a.id);
    this.alertBatch.push(a);
    if (!known && !a.recoveredAt) {
      const key = a.check.id;
      const seen = this.recentNotes.get(key);
      if (!seen || Date.now() - seen > 10_000) this.announce(a.check, a.status, a.output);
    }
  }

  /** receiveNotification shows a toast and, if allowed, a browser notification. */
  receiveNotification(n: NotificationEvent) {
    this.announce(n.check, n.status, n.output);
  }

  private announce(check: CheckSummary, status: string, output: string) {
    this.recentNotes.set(check.id, Date.now());
    if (this.recentNotes.size > 500) this.recentNotes.clear();
    const recovered = status === "OK" || status === "INFO";
    const title = `${statusWord(status as any)}: ${displayName(check)}`;
    const live = this.toasts.get().filter((t) => t.kind === "problem" || t.kind === "recovery");
    if (live.length >= 3) {
      // A storm: fold the rest into one summary toast instead of flooding the screen.
      this.burst++;
      const text = `${this.burst} more state change${this.burst === 1 ? "" : "s"}`;
      const existing = this.toasts.get().find((t) => t.id === this.burstToast);
      if (existing) this.toasts.set((l) => l.map((t) => (t.id === existing.id ? { ...t, title: text } : t)));
      else this.burstToast = this.toast({ kind: "info", title: text, body: "See the overview for the full list", href: "#/" }, 10_000);
    } else {
      this.burst = 0;
      this.toast({ kind: recovered ? "recovery" : "problem", title, body: output, href: `#/check/${encodeURIComponent(check.id)}`, status });
    }
    this.browserNotify(title, output, check.id);
  }

  private browserNotify(title: string, body: string, tag: string) {
    if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
    const now = Date.now();
    if (now - this.lastBrowserNote < 3000) return; // at most one every 3 s
    this.lastBrowserNote = now;
    try {
      const n = new Notification(title, { body, tag });
      n.onclick = () => {
        window.focus();
        location.hash = `#/check/${encodeURIComponent(tag)}`;
      };
    } catch {
      /* some mobile browsers only allow service-worker notifications */
    }
  }

  /** askNotifications asks the browser for permission (from a button click). */
  async askNotifications() {
    if (typeof Notification === "undefined") return;
    const p = await Notification.requestPermission();
    this.notifyPermission.set(p);
  }

  /** toast shows an in-page message for a few seconds. The list keeps the
   * newest MAX_TOASTS; the page shows the newest VISIBLE_TOASTS of them and
   * counts the rest ("and N more"). */
  toast(t: Omit<Toast, "id">, ms = 8000): number {
    const id = ++this.toastSeq;
    this.toasts.set((list) => [...list, { ...t, id }].slice(-MAX_TOASTS));
    setTimeout(() => this.dismiss(id), ms);
    return id;
  }

  dismiss(id: number) {
    this.toasts.set((list) => (list.some((t) => t.id === id) ? list.filter((t) => t.id !== id) : list));
  }

  /** dismissAll removes every toast. */
  dismissAll() {
    if (this.toasts.get().length > 0) this.toasts.set([]);
  }

  private startLive() {
    if (this.live || (this.opts.live === false && !this.opts.socket)) return;
    this.conn.set("connecting");
    const opts: LiveOptions = {
      tokens: this.tokens,
      onState: (s) => this.conn.set(s),
      onResync: () => this.resync(),
      onUnauthenticated: () => this.expire(),
    };
    this.live = this.opts.socket ? this.opts.socket(opts) : new Live(opts);
    this.unsubs.push(
      this.live.subscribe<{ checkUpdated: CheckUpdate }>(Q.SUB_CHECKS, { filter: GLOBAL_CHECK_FILTER }, (d) => this.receiveCheckUpdate(d.checkUpdated)),
      this.live.subscribe<{ alertUpdated: Alert }>(Q.SUB_ALERTS, undefined, (d) => this.receiveAlert(d.alertUpdated)),
      this.live.subscribe<{ notifications: NotificationEvent }>(Q.SUB_NOTIFICATIONS, undefined, (d) =>
        this.receiveNotification(d.notifications),
      ),
    );
    for (const f of this.followers) this.openFollower(f);
  }

  private stopLive() {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    for (const f of this.followers) {
      f.stop?.();
      f.stop = null;
    }
    this.live?.dispose();
    this.live = null;
    this.conn.set("offline");
  }
}

export const AppContext = createContext<App | null>(null);

/** useApp returns the App from context. */
export function useApp(): App {
  const a = useContext(AppContext);
  if (!a) throw new Error("useApp outside <AppContext.Provider>");
  return a;
}
