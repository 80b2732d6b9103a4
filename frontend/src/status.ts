// Bergamot check statuses: severity order, words, icons and colours.
// Mirrors checks/status.go: severity decides which status is worse.

export type Status =
  | "PENDING" | "INFO" | "OK" | "WARNING" | "CRITICAL"
  | "UNKNOWN" | "TIMEOUT" | "ERROR" | "DISCONNECTED" | "ACTION";

export const ALL_STATUSES: Status[] = [
  "PENDING", "INFO", "OK", "WARNING", "CRITICAL",
  "UNKNOWN", "TIMEOUT", "ERROR", "DISCONNECTED", "ACTION",
];

const SEVERITY: Record<Status, number> = {
  INFO: 0, OK: 0, PENDING: 1, ACTION: 2, WARNING: 3, UNKNOWN: 4,
  TIMEOUT: 5, CRITICAL: 6, DISCONNECTED: 7, ERROR: 8,
};

/** Severity ranks a status: higher is worse, OK and INFO are 0. */
export function severity(s: Status): number {
  return SEVERITY[s] ?? 100;
}

/** Statuses from worst to best, for summaries. */
export const STATUSES_WORST_FIRST: Status[] = [...ALL_STATUSES].sort(
  (a, b) => severity(b) - severity(a) || ALL_STATUSES.indexOf(a) - ALL_STATUSES.indexOf(b),
);

/** isProblem: the status is not healthy (matches Status.OK() in Go). */
export function isProblem(s: Status): boolean {
  return !(s === "OK" || s === "INFO" || s === "PENDING" || s === "ACTION");
}

/** worst returns the most severe status of a list (OK for an empty list). */
export function worst(list: Status[]): Status {
  let w: Status = "OK";
  for (const s of list) if (severity(s) > severity(w)) w = s;
  return w;
}

/** Icon glyphs: shape differs per status so colour is never the only signal. */
const ICONS: Record<Status, string> = {
  OK: "✓", INFO: "i", PENDING: "…", ACTION: "→", WARNING: "!",
  CRITICAL: "✕", UNKNOWN: "?", TIMEOUT: "◔", ERROR: "‼", DISCONNECTED: "⊘",
};

export function statusIcon(s: Status): string {
  return ICONS[s] ?? "?";
}

/** Human word for a status (title case). */
export function statusWord(s: Status): string {
  return s.charAt(0) + s.slice(1).toLowerCase();
}

/** CSS class suffix selecting the status colour variables. */
export function statusClass(s: Status): string {
  return "st-" + s.toLowerCase();
}
