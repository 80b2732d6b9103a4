// Client-side re-check of a list filter after live updates: a row the server
// matched may stop matching once its state changes (a problem recovers, an
// alert is acknowledged...). Only fields that live updates can change are
// checked; the rest (search, kind, group, location, host) the server decided.
import type { CheckFilter, CheckSummary } from "../api/types";
import { isProblem } from "../status";

/** mismatch returns why c no longer matches f (words for a tooltip), or null if it still matches. */
export function mismatch(c: CheckSummary, f: CheckFilter): string | null {
  const s = c.state;
  if (f.status?.length && !f.status.includes(s.status)) return `now ${s.status}`;
  if (f.problems && !isProblem(s.status)) return `recovered: now ${s.status}`;
  if (f.hard !== undefined && s.hard !== f.hard) return s.hard ? "now a hard state" : "now a soft state";
  if (f.acknowledged !== undefined && s.acknowledged !== f.acknowledged) return s.acknowledged ? "now acknowledged" : "no longer acknowledged";
  if (f.inDowntime !== undefined && s.inDowntime !== f.inDowntime) return s.inDowntime ? "now in downtime" : "no longer in downtime";
  return null;
}
