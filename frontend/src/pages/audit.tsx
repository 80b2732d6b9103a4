// The site's audit log (administrators): sign-ins, every change and who
// made it, newest first, with its retention.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { AuditEntry } from "../api/types";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { ago, dateTime } from "../format";
import { useApp } from "../store/app";

interface Page { auditLog: { nodes: AuditEntry[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }; auditRetentionDays: number }

export function AuditPage() {
  const app = useApp();
  const { data, error, loading, refetch } = useQuery<Page>(Q.AUDIT_LOG, { first: 100 });
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const entries = [...(data?.auditLog.nodes ?? []), ...more];
  const next = cursor ?? data?.auditLog.pageInfo.endCursor ?? null;
  const hasMore = cursor === null ? data?.auditLog.pageInfo.hasNextPage : next !== "";
  const loadMore = async () => {
    setBusy(true);
    try {
      const d = await app.client.request<Page>(Q.AUDIT_LOG, { first: 100, after: next });
      setMore([...more, ...d.auditLog.nodes]);
      setCursor(d.auditLog.pageInfo.hasNextPage ? d.auditLog.pageInfo.endCursor ?? "" : "");
    } catch (e) {
      app.toast({ kind: "error", title: "Could not load more", body: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="page">
      <div class="page-head"><h1>Audit log</h1></div>
      <p class="muted small">Every sign-in, change and operator action in this site: who, when, from where and what. Nobody can edit or delete entries; they are kept {data ? `${data.auditRetentionDays} days` : "for the site's retention"}.</p>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && <Retention days={data.auditRetentionDays} onChanged={refetch} />}
      {data && (entries.length === 0 ? <div class="empty">Nothing recorded yet.</div> : (
        <div class="table audit" role="table" aria-label="Audit log">
          {entries.map((e) => (
            <div class={`tr audit-${e.outcome}`} role="row" key={e.id} data-action={e.action} data-outcome={e.outcome}>
              <span role="cell" class="muted small" title={dateTime(e.at)}>{ago(e.at)}</span>
              <span role="cell" class="c-name"><span class="check-name">{e.actor || "—"}</span> <span class="muted small">{e.via}{e.address ? ` · ${e.address}` : ""}</span></span>
              <span role="cell"><span class="mono">{e.action}</span>{e.target && <span class="muted small"> {e.target}</span>}</span>
              <span role="cell"><span class={`chip outcome-${e.outcome}`}>{e.outcome}</span></span>
              <span role="cell" class="muted small mono audit-detail" title={e.detail}>{e.detail === "{}" ? "" : e.detail}</span>
            </div>
          ))}
        </div>
      ))}
      {hasMore && <div class="inline-form"><button class="btn btn-small" disabled={busy} onClick={() => void loadMore()}>Older entries</button></div>}
    </div>
  );
}

function Retention({ days, onChanged }: { days: number; onChanged: () => void }) {
  const set = useMutation(Q.SET_AUDIT_RETENTION);
  const [value, setValue] = useState(String(days));
  return (
    <form class="inline-form audit-retention" onSubmit={async (e) => { e.preventDefault(); if (await set.run({ days: Number(value) }, "Retention changed")) onChanged(); }}>
      <label class="small">Keep entries for <input type="number" min={30} max={3650} required value={value} onInput={(e) => setValue(e.currentTarget.value)} aria-label="Retention in days" /> days</label>
      <button class="btn btn-small" disabled={set.busy || Number(value) === days}>Save</button>
    </form>
  );
}
