// useQuery: fetch a GraphQL query, refetch on resync, show errors.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import type { CheckFilter, CheckUpdate } from "../api/types";
import { useApp } from "../store/app";
import { RateLimiter } from "../store/limiter";

export interface QueryResult<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  refetch: () => Promise<void>;
}

/** useQuery runs query whenever its variables change and after a live resync. */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, skip = false): QueryResult<T> {
  const app = useApp();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(!skip);
  const key = JSON.stringify(variables);
  const seq = useRef(0);

  const refetch = useCallback(async () => {
    const my = ++seq.current;
    setLoading(true);
    try {
      const d = await app.client.request<T>(query, JSON.parse(key));
      if (my === seq.current) {
        setData(d);
        setError(null);
      }
    } catch (e) {
      if (my === seq.current) setError(e as Error);
    } finally {
      if (my === seq.current) setLoading(false);
    }
  }, [app, query, key]);

  useEffect(() => {
    if (skip) return;
    void refetch();
    return app.onResync(() => void refetch());
  }, [refetch, skip]);

  return { data, error, loading, refetch };
}

/** ErrorBox shows an API error in words. */
export function ErrorBox({ error, retry }: { error: Error | null; retry?: () => void }) {
  if (!error) return null;
  return (
    <div class="errorbox" role="alert">
      <strong>Could not load.</strong> {error.message}
      {retry && (
        <button class="btn btn-small" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Loading is a quiet placeholder. */
export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div class="loading" aria-busy="true">
      {what}…
    </div>
  );
}

/** useNow returns the time, updated every `ms` so durations tick. */
export function useNow(ms = 10_000): number {
  const [now, set] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => set(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** useMutation wraps a mutation with busy/error state and a toast on failure. */
export function useMutation<T = any>(mutation: string) {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (variables: Record<string, unknown>, okMessage?: string): Promise<T | null> => {
      setBusy(true);
      try {
        const d = await app.client.request<T>(mutation, variables);
        if (okMessage) app.toast({ kind: "info", title: okMessage }, 4000);
        return d;
      } catch (e) {
        app.toast({ kind: "error", title: "Action failed", body: (e as Error).message });
        return null;
      } finally {
        setBusy(false);
      }
    },
    [app, mutation],
  );
  return { run, busy };
}

export interface LiveRefetchOptions {
  /** relevant picks the updates that affect this page (default: all). */
  relevant?: (u: CheckUpdate) => boolean;
  /** interval: at most one refetch per this many ms (default 1000). */
  interval?: number;
  /** poll: also refetch every this many ms as a safety net (default: no poll). */
  poll?: number;
}

/**
 * useLiveRefetch refetches when live check updates that matter arrive,
 * rate-limited to one refetch per interval, plus an optional slow poll.
 */
export function useLiveRefetch(refetch: () => void | Promise<void>, opts: LiveRefetchOptions = {}) {
  const app = useApp();
  const ref = useRef({ refetch, relevant: opts.relevant });
  ref.current = { refetch, relevant: opts.relevant };
  const { interval = 1000, poll } = opts;
  useEffect(() => {
    const limiter = new RateLimiter(() => void ref.current.refetch(), { interval });
    const un = app.onCheckUpdates((batch) => {
      const rel = ref.current.relevant;
      if (!rel || batch.some(rel)) limiter.trigger();
    });
    const t = poll ? setInterval(() => void ref.current.refetch(), poll) : null;
    return () => {
      un();
      limiter.cancel();
      if (t) clearInterval(t);
    };
  }, [app, interval, poll]);
}

/** statusChanged: the update moved the check to another status (or it is new to us). */
export function statusChanged(u: CheckUpdate): boolean {
  return !u.previous || u.previous.status !== u.state.status;
}

/** FOLLOW_DEBOUNCE_MS: a page's followed set must hold this long before it is resubscribed. */
export const FOLLOW_DEBOUNCE_MS = 250;

/**
 * useLiveFilter keeps a checkUpdated subscription with filter open while the
 * page is mounted (app.followChecks): every result of the checks it selects,
 * output and last check included, which the site-wide subscription leaves
 * out. The first subscription opens at once; when filter changes (a new page
 * of rows, another search), the new one opens once it has held for delay ms
 * and then replaces the old one, so paging or typing does not churn
 * subscriptions and nothing goes unfollowed meanwhile. null follows nothing.
 * Leaving the page unsubscribes.
 */
export function useLiveFilter(filter: CheckFilter | null, delay = FOLLOW_DEBOUNCE_MS) {
  const app = useApp();
  const key = filter ? JSON.stringify(filter) : "";
  const current = useRef<{ key: string; stop: (() => void) | null } | null>(null);
  useEffect(() => {
    if ((current.current?.key ?? "") === key) return;
    const swap = () => {
      const prev = current.current;
      current.current = { key, stop: key ? app.followChecks(JSON.parse(key)) : null };
      prev?.stop?.();
    };
    if (!current.current?.stop) {
      // Nothing followed yet: no churn to avoid.
      swap();
      return;
    }
    const t = setTimeout(swap, delay);
    return () => clearTimeout(t);
  }, [app, key, delay]);
  useEffect(
    () => () => {
      current.current?.stop?.();
      current.current = null;
    },
    [app],
  );
}

/** useFollowChecks follows every result of the checks with these ids (the rows a page shows); see useLiveFilter. */
export function useFollowChecks(ids: string[], delay = FOLLOW_DEBOUNCE_MS) {
  const sorted = [...new Set(ids)].sort();
  useLiveFilter(sorted.length ? { ids: sorted } : null, delay);
}
