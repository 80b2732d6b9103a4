// Alerts: open (or all) alerts, live through alertUpdated.
import { useEffect, useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Alert } from "../api/types";
import { ErrorBox, useNow, useQuery } from "../components/query";
import { StatusBadge } from "../components/status";
import { ago, since } from "../format";
import { useApp } from "../store/app";
import { applyAlertUpdates, displayName } from "../store/checks";
import { useStore } from "../store/store";
import { severity } from "../status";

export function AlertsPage() {
  const app = useApp();
  const now = useNow(5000);
  const [open, setOpen] = useState(true);
  const { data, error, refetch } = useQuery<{ alerts: Alert[] }>(Q.ALERTS, { open: open ? true : null });
  // Pages older than the first, loaded on request; cleared when the first page changes.
  const [older, setOlder] = useState<Alert[]>([]);
  const [loading, setLoading] = useState(false);
  const [olderError, setOlderError] = useState<Error | null>(null);
  useEffect(() => {
    setOlder([]);
    setOlderError(null);
    if (data) app.state.set((s) => applyAlertUpdates(s, data.alerts));
  }, [data]);
  const last = older.length > 0 ? older : (data?.alerts ?? []);
  const more = last.length === Q.ALERTS_PAGE && !!last[last.length - 1].cursor;
  const loadOlder = async () => {
    setLoading(true);
    setOlderError(null);
    try {
      const d = await app.client.request<{ alerts: Alert[] }>(Q.ALERTS, { open: open ? true : null, after: last[last.length - 1].cursor });
      app.state.set((s) => applyAlertUpdates(s, d.alerts));
      setOlder((o) => [...o, ...d.alerts]);
    } catch (e) {
      setOlderError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      setLoading(false);
    }
  };
  const ids = new Set([...(data?.alerts ?? []), ...older].map((a) => a.id));
  const alerts = useStore(app.state, (s) => {
    const list = [...s.alerts.values()].filter((a) => ids.has(a.id) || (open ? !a.recoveredAt : true));
    return list
      .filter((a) => !open || !a.recoveredAt)
      .sort((a, b) => Number(a.acknowledged) - Number(b.acknowledged) || severity(b.status) - severity(a.status) || Date.parse(b.openedAt) - Date.parse(a.openedAt));
  });

  return (
    <div class="page">
      <div class="page-head">
        <h1>Alerts</h1>
        <div class="seg" role="group" aria-label="Which alerts">
          <button class={open ? "on" : ""} aria-pressed={open} onClick={() => setOpen(true)}>Open</button>
          <button class={!open ? "on" : ""} aria-pressed={!open} onClick={() => setOpen(false)}>All</button>
        </div>
      </div>
      <ErrorBox error={error} retry={refetch} />
      <div class="panel">
        {alerts.length === 0 ? (
          <div class="empty">{data ? (open ? "No open alerts. ✓" : "No alerts yet.") : "Loading…"}</div>
        ) : (
          <div class="table" role="table" aria-label="Alerts">
            {alerts.map((a) => (
              <a class="tr alert-row" role="row" key={a.id} href={`#/check/${encodeURIComponent(a.check.id)}`}>
                <span role="cell" class="c-status"><StatusBadge status={a.status} /></span>
                <span role="cell" class="c-name">
                  <span class="check-name">{displayName(a.check)}</span>
                  {a.acknowledged && <span class="chip chip-ack">✓ ack {a.acknowledgedBy ? `by ${a.acknowledgedBy}` : ""}</span>}
                  {a.escalationLevel > 0 && <span class="chip">escalated ×{a.escalationLevel}</span>}
                  {a.recoveredAt && <span class="chip chip-ok">recovered {ago(a.recoveredAt, now)}</span>}
                </span>
                <span role="cell" class="c-output" title={a.output}>{a.output}</span>
                <span role="cell" class="c-dur" title={a.openedAt}>{since(a.openedAt, now)}</span>
              </a>
            ))}
          </div>
        )}
        {more && (
          <div class="more">
            <button class="btn" disabled={loading} onClick={() => void loadOlder()}>
              {loading ? "Loading…" : `Load ${Q.ALERTS_PAGE} older alerts`}
            </button>
          </div>
        )}
      </div>
      <ErrorBox error={olderError} retry={() => void loadOlder()} />
    </div>
  );
}
