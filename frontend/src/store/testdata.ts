// Builders for test checks (used by the unit tests only).
import type { CheckSummary, CheckUpdate } from "../api/types";
import type { Status } from "../status";

export function check(id: string, status: Status, extra: Partial<CheckSummary["state"]> = {}, name = id): CheckSummary {
  const ok = ["OK", "INFO", "PENDING", "ACTION"].includes(status);
  return {
    __typename: "Service", id, kind: "SERVICE", name, summary: null, groups: [], location: null, host: { id: "h-" + id, name: "host-" + id },
    state: { status, ok, hard: true, attempt: 1, output: `${status} output`, lastCheck: null, lastStateChange: "2025-01-01T00:00:00Z", flapping: false, acknowledged: false, inDowntime: false, suppressed: false, ...extra },
  };
}

export function update(c: CheckSummary, status: Status, extra: Partial<CheckSummary["state"]> = {}): CheckUpdate {
  const next = check(c.id, status, { lastStateChange: new Date().toISOString(), ...extra }, c.name);
  return { check: { ...c, state: next.state }, previous: { status: c.state.status }, state: next.state };
}
