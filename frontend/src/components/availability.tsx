// Availability of one check over a chosen range: time per status plus
// downtime, blind time and pending (docs/reporting.md).
import { useMemo, useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Availability } from "../api/types";
import { duration } from "../format";
import { statusClass, type Status } from "../status";
import { ErrorBox, useQuery } from "./query";

/** RANGES are the ranges offered, in hours. */
export const RANGES: { label: string; hours: number }[] = [
  { label: "24 hours", hours: 24 },
  { label: "7 days", hours: 24 * 7 },
  { label: "30 days", hours: 24 * 30 },
  { label: "90 days", hours: 24 * 90 },
];

export interface Share { key: string; label: string; fraction: number; seconds: number; cls: string }

/** shares lists where the time went, statuses first (longest first), then downtime, blind and pending. */
export function shares(a: Availability): Share[] {
  const out: Share[] = a.statuses.map((s) => ({ key: s.status, label: s.status, fraction: s.fraction, seconds: s.seconds, cls: statusClass(s.status as Status) }));
  for (const [key, label, f] of [["downtime", "DOWNTIME", a.downtime], ["blind", "BLIND", a.blind], ["pending", "PENDING", a.pending]] as const) {
    if (f > 0) out.push({ key, label, fraction: f, seconds: f * a.seconds, cls: `avail-${key}` });
  }
  return out.filter((s) => s.fraction > 0);
}

export function AvailabilityPanel({ checkId }: { checkId: string }) {
  const [hours, setHours] = useState(24 * 7);
  const vars = useMemo(() => {
    const to = new Date();
    return { id: checkId, from: new Date(to.getTime() - hours * 3600_000).toISOString(), to: to.toISOString() };
  }, [checkId, hours]);
  const { data, error, refetch } = useQuery<{ availability: Availability }>(Q.AVAILABILITY, vars);
  const a = data?.availability;
  const list = a ? shares(a) : [];
  return (
    <section class="panel" aria-labelledby="avail-title" data-testid="availability">
      <div class="panel-head">
        <h2 id="avail-title">Availability</h2>
        <select value={String(hours)} onChange={(e) => setHours(Number(e.currentTarget.value))} aria-label="Range">
          {RANGES.map((r) => <option key={r.hours} value={String(r.hours)}>last {r.label}</option>)}
        </select>
        {a && <strong class="avail-ok">{(a.ok * 100).toFixed(3)}% OK</strong>}
      </div>
      <ErrorBox error={error} retry={refetch} />
      {a && (
        <>
          <div class="avail-bar" aria-hidden="true">
            {list.map((s) => <span key={s.key} class={s.cls} style={{ width: `${s.fraction * 100}%` }} title={`${s.label} ${(s.fraction * 100).toFixed(2)}%`} />)}
          </div>
          <ul class="avail-list small">
            {list.map((s) => (
              <li key={s.key} data-category={s.label}>
                <span class={`dot ${s.cls}`} /> {s.label} <strong>{(s.fraction * 100).toFixed(2)}%</strong> <span class="muted">{duration(s.seconds * 1000)}</span>
              </li>
            ))}
          </ul>
          <p class="muted small">Downtime is scheduled downtime; blind is time no result came for longer than three check intervals (no worker, Bergamot down); pending is before the first result.</p>
        </>
      )}
    </section>
  );
}
