// Hash routing: #/path?query. Works behind any static server and in the
// embedded Go handler without rewrite rules.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  path: string;
  parts: string[];
  query: URLSearchParams;
}

/** parseHash splits "#/check/abc?x=1" into path parts and query. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "") || "/";
  const [p, q = ""] = raw.split("?", 2);
  const path = p.startsWith("/") ? p : "/" + p;
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { path, parts, query: new URLSearchParams(q) };
}

/** href builds a hash link from a path and query values (empty ones dropped). */
export function href(path: string, query: Record<string, string | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? "?" + s : ""}`;
}

/** navigate changes the route; replace keeps history clean for filter edits. */
export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, "", to);
  else location.hash = to.replace(/^#/, "");
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** useRoute re-renders on hash changes. */
export function useRoute(): Route {
  const [r, set] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => set(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return r;
}
