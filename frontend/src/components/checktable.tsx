// The check list used by the overview (problems) and the hosts & services page.
import type { CheckSummary } from "../api/types";
import { since } from "../format";
import { displayName } from "../store/checks";
import { Flags, StatusBadge } from "./status";

/** CheckTable lists checks; stale (optional) says why a row no longer matches the page's filter. */
export function CheckTable({ checks, now, empty, showHost = true, stale }: { checks: CheckSummary[]; now: number; empty?: preact.ComponentChildren; showHost?: boolean; stale?: (c: CheckSummary) => string | null }) {
  if (checks.length === 0) return <div class="empty">{empty ?? "Nothing here."}</div>;
  return (
    <div class="table checks-table" role="table" aria-label="Checks">
      <div class="tr th" role="row">
        <span role="columnheader" class="c-status">Status</span>
        <span role="columnheader" class="c-name">Check</span>
        <span role="columnheader" class="c-output">Output</span>
        <span role="columnheader" class="c-dur">For</span>
      </div>
      {checks.map((c) => (
        <CheckRowView key={c.id} check={c} now={now} showHost={showHost} stale={stale?.(c) ?? null} />
      ))}
    </div>
  );
}

export function CheckRowView({ check: c, now, showHost, stale = null }: { check: CheckSummary; now: number; showHost: boolean; stale?: string | null }) {
  const s = c.state;
  const soft = !s.hard && !s.ok;
  return (
    <a class={`tr check-row ${soft ? "is-soft" : ""} ${s.acknowledged || s.inDowntime || s.suppressed ? "is-handled" : ""} ${stale ? "is-stale" : ""}`} role="row" href={`#/check/${encodeURIComponent(c.id)}`} data-check-id={c.id} data-status={s.status}>
      <span role="cell" class="c-status">
        <StatusBadge status={s.status} soft={soft} />
      </span>
      <span role="cell" class="c-name">
        <span class="check-name">{showHost ? displayName(c) : c.name}</span>
        <span class="check-kind">{c.kind.toLowerCase()}</span>
        <Flags check={c} />
        {stale && (
          <span class="chip chip-stale" title={`No longer matches the filter: ${stale}`}>
            no longer matches · {stale}
          </span>
        )}
      </span>
      <span role="cell" class="c-output" title={s.output}>
        {s.output}
      </span>
      <span role="cell" class="c-dur" title={s.lastStateChange ?? ""}>
        {since(s.lastStateChange, now)}
      </span>
    </a>
  );
}
