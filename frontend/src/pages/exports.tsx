// Metrics export: each <metrics-export> target of the site (Prometheus
// remote write, OTLP) with where it sends, when the receiver last took a
// batch, the last error, and what waits or was lost (docs/metrics-export.md).
// Refreshed every 10 seconds while open.
import { useEffect } from "preact/hooks";
import * as Q from "../api/queries";
import type { MetricsExport } from "../api/types";
import { ErrorBox, Loading, useQuery } from "../components/query";
import { ago, dateTime } from "../format";

/** REFRESH_MS is how often the page asks again. */
export const REFRESH_MS = 10_000;

/** exportState is the chip shown for a target. */
export function exportState(e: Pick<MetricsExport, "enabled" | "failures" | "lastSuccessAt" | "queued">): { label: string; cls: string } {
  if (!e.enabled) return { label: "disabled", cls: "" };
  if (e.failures > 0) return { label: "failing", cls: "chip-bad" };
  if (!e.lastSuccessAt) return { label: e.queued > 0 ? "not delivered yet" : "idle", cls: "chip-warn" };
  return { label: "delivering", cls: "chip-ok" };
}

/** retryLabel says when a failing target is tried again. */
export function retryLabel(e: Pick<MetricsExport, "failures" | "nextAttemptAt">, now = Date.now()): string {
  if (e.failures === 0) return "";
  const wait = Date.parse(e.nextAttemptAt) - now;
  const n = `${e.failures} failure${e.failures === 1 ? "" : "s"} in a row`;
  return wait > 1000 ? `${n}, retrying in ${Math.ceil(wait / 1000)}s` : `${n}, retrying now`;
}

const protocols: Record<string, string> = { "prometheus-remote-write": "Prometheus remote write", otlp: "OTLP/HTTP" };

export function MetricsExportsPage() {
  const { data, error, loading, refetch } = useQuery<{ metricsExports: MetricsExport[] }>(Q.METRICS_EXPORTS);
  useEffect(() => {
    const t = setInterval(() => void refetch(), REFRESH_MS);
    return () => clearInterval(t);
  }, [refetch]);
  const list = data?.metricsExports ?? [];
  const failing = list.filter((e) => e.enabled && e.failures > 0).length;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Metrics export</h1>
        <span class="muted">
          {data ? `${list.length} target${list.length === 1 ? "" : "s"}${failing ? `, ${failing} failing` : ""}` : ""}
        </span>
      </div>
      <p class="muted small">
        Perfdata and the site's own series go to each <code>&lt;metrics-export&gt;</code> of the configuration. While a receiver fails, points wait up to the target's buffer; the oldest beyond it are dropped and counted.
      </p>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && list.length === 0 && (
        <div class="panel empty">
          No export targets yet: add <code>&lt;metrics-export name="prom" protocol="prometheus-remote-write" url="https://…/api/v1/write"/&gt;</code> to the configuration.
        </div>
      )}
      {list.length > 0 && (
        <div class="table exports" role="table" aria-label="Metrics export targets">
          <div class="tr th" role="row">
            <span role="columnheader">Target</span><span role="columnheader">State</span><span role="columnheader">Last success</span>
            <span role="columnheader">Last error</span><span role="columnheader" class="num">Queued</span>
            <span role="columnheader" class="num">Dropped</span><span role="columnheader" class="num">Sent</span>
          </div>
          {list.map((e) => <ExportRow key={e.name} e={e} />)}
        </div>
      )}
    </div>
  );
}

function ExportRow({ e }: { e: MetricsExport }) {
  const st = exportState(e);
  return (
    <div class="tr export-row" role="row" data-export={e.name}>
      <span role="cell" class="export-target">
        <strong>{e.name}</strong>
        <span class="muted small">
          {protocols[e.protocol] ?? e.protocol}{e.auth !== "none" ? ` · ${e.auth} auth` : ""}
          {e.ownSeries ? "" : " · perfdata only"}
        </span>
        <code class="small export-url" title={e.url}>{e.url}</code>
      </span>
      <span role="cell">
        <span class={`chip ${st.cls}`}>{st.label}</span>
        {e.failures > 0 && <span class="muted small export-retry">{retryLabel(e)}</span>}
      </span>
      <span role="cell" title={dateTime(e.lastSuccessAt)}>{ago(e.lastSuccessAt)}</span>
      <span role="cell" class="export-error">
        {e.lastError ? (
          <>
            <span class="small">{e.lastError}</span>
            <span class="muted small" title={dateTime(e.lastErrorAt)}>{ago(e.lastErrorAt)}</span>
          </>
        ) : <span class="muted">none</span>}
      </span>
      <span role="cell" class="num">{e.queued.toLocaleString("en")}</span>
      <span role="cell" class={`num${e.dropped > 0 ? " export-dropped" : ""}`}>{e.dropped.toLocaleString("en")}</span>
      <span role="cell" class="num muted">{e.sent.toLocaleString("en")}</span>
    </div>
  );
}
