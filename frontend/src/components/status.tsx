// Status badge, dot and count pieces: icon + word + colour, never colour alone.
import type { CheckSummary } from "../api/types";
import { statusClass, statusIcon, statusWord, type Status } from "../status";

export function StatusBadge({ status, soft, small }: { status: Status; soft?: boolean; small?: boolean }) {
  return (
    <span class={`badge ${statusClass(status)}${soft ? " soft" : ""}${small ? " small" : ""}`} title={soft ? `${statusWord(status)} (soft: may still recover)` : statusWord(status)}>
      <span class="badge-icon" aria-hidden="true">{statusIcon(status)}</span>
      <span class="badge-word">{status}</span>
    </span>
  );
}

/** Flags shows ACK, DOWNTIME, SUPPRESSED, SOFT n, FLAPPING chips for a check. */
export function Flags({ check }: { check: CheckSummary }) {
  const s = check.state;
  return (
    <span class="flags">
      {!s.hard && !s.ok && <span class="chip chip-soft" title="Soft state: not yet confirmed">soft {s.attempt}</span>}
      {s.acknowledged && <span class="chip chip-ack" title="Acknowledged">✓ ack</span>}
      {s.inDowntime && <span class="chip chip-dt" title="In scheduled downtime">☾ downtime</span>}
      {s.suppressed && <span class="chip chip-sup" title="Notifications suppressed">◌ suppressed</span>}
      {s.flapping && <span class="chip chip-flap" title="Flapping">↯ flapping</span>}
    </span>
  );
}

/** CountBar is a thin stacked bar of status counts with an accessible label. */
export function CountBar({ counts }: { counts: { status: Status; count: number }[] }) {
  const total = counts.reduce((a, c) => a + c.count, 0);
  const label = counts.filter((c) => c.count > 0).map((c) => `${c.count} ${c.status}`).join(", ") || "no checks";
  return (
    <span class="countbar" role="img" aria-label={label} title={label}>
      {total > 0 &&
        counts
          .filter((c) => c.count > 0)
          .map((c) => <span key={c.status} class={`countbar-seg ${statusClass(c.status)}`} style={{ flexGrow: c.count }} />)}
    </span>
  );
}
