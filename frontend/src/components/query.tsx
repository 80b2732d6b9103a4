// useQuery: fetch a GraphQL query, refetch on resync, show errors.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { useApp } from "../store/app";

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
