// Types for the parts of the GraphQL schema the dashboard reads.
import type { Status } from "../status";

export type CheckKind = "HOST" | "SERVICE" | "TRAP" | "CLUSTER" | "RESOURCE";
export type Role = "ADMIN" | "EDITOR" | "VIEWER";

export interface Perfdata {
  label: string; value: number | null; uom: string | null;
  warn: string | null; crit: string | null; min: number | null; max: number | null;
}

export interface CheckState {
  status: Status;
  ok: boolean;
  hard: boolean;
  attempt: number;
  output: string;
  longOutput?: string | null;
  perfdata?: Perfdata[];
  lastCheck: string | null;
  lastStateChange: string | null;
  flapping: boolean;
  flapPercent?: number;
  acknowledged: boolean;
  inDowntime: boolean;
  suppressed: boolean;
  encompassed?: boolean;
  worker?: string | null;
  runtimeMs?: number | null;
}

export interface CheckRef { id: string; name: string }

/** CheckSummary is what lists and the live cache hold about a check. */
export interface CheckSummary {
  __typename?: string;
  id: string;
  kind: CheckKind;
  name: string;
  summary: string | null;
  groups: string[];
  location: string | null;
  host?: CheckRef | null;
  cluster?: CheckRef | null;
  state: CheckState;
}

export interface StatusCount { status: Status; count: number }

export interface Site { id: string; name: string; summary: string; aliases: string[]; statusCounts: StatusCount[] }
export interface User { id: string; email: string; displayName: string; role: Role; disabled?: boolean; mustChangePassword?: boolean }

export interface Comment { id: string; author: string; body: string; createdAt: string }

export interface Alert {
  id: string;
  check: CheckSummary;
  status: Status;
  output: string;
  openedAt: string;
  updatedAt: string;
  recoveredAt: string | null;
  acknowledged: boolean;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  escalationLevel: number;
  /** cursor is the alert's place in the alerts list (lists only), for after:. */
  cursor?: string;
}

export interface Downtime { id: string; checkId: string; start: string; end: string; comment: string; author: string; cancelled: boolean }
export interface StateChange { at: string; status: Status; previous: Status; hard: boolean; attempt: number; output: string }
export interface MetricPoint { at: string; value: number; min: number; max: number }
export interface MetricSeries { label: string; uom: string | null; points: MetricPoint[] }

export interface CheckDetail extends CheckSummary {
  description: string | null;
  enabled: boolean;
  address?: string | null;
  engine?: string;
  command?: string | null;
  condition?: string;
  services?: CheckSummary[];
  /** The checks its <depends> names. */
  dependsOn?: CheckSummary[];
  history: { nodes: StateChange[]; pageInfo: PageInfo };
  alerts: Alert[];
  downtimes: Downtime[];
  comments: Comment[];
}

export interface PageInfo { hasNextPage: boolean; endCursor: string | null }
export interface CheckConnection { nodes: CheckSummary[]; totalCount: number; pageInfo: PageInfo }

export interface CheckFilter {
  ids?: string[];
  kind?: CheckKind;
  host?: string;
  group?: string;
  location?: string;
  status?: Status[];
  problems?: boolean;
  hard?: boolean;
  acknowledged?: boolean;
  inDowntime?: boolean;
  search?: string;
  /** checkUpdated only: just the updates that change what a status view shows (status, hard, ack, downtime, flapping...). */
  changed?: boolean;
}

export interface CheckUpdate { check: CheckSummary; previous: { status: Status } | null; state: CheckState }
export interface NotificationEvent { type: string; check: CheckSummary; status: Status; output: string; at: string }

export interface Group { name: string; summary: string | null; parents: string[]; children: Group[]; status: Status; counts: StatusCount[] }
export interface Location { name: string; summary: string | null; parent: string | null; children: Location[]; status: Status; counts: StatusCount[] }
export interface Contact { name: string; summary: string | null; email: string | null; teams: string[] }
export interface Team { name: string; summary: string | null; contacts: Contact[] }
export interface ConfigError { message: string; file: string | null; line: number | null; object: string | null }
export interface ConfigResult { ok: boolean; errors: ConfigError[]; added: number; changed: number; removed: number; diff: string | null; revision: number | null }
export interface ConfigRevision { id: number; author: string; summary: string; added: number; changed: number; removed: number; diff: string; createdAt: string }
export interface Worker { id: string; name: string; zone: string; engines: string[]; startedAt: string; lastSeen: string; alive: boolean }
export interface ZoneWorker { id: string; name: string; version: string; engines: string[]; node: string; address: string; inFlight: number; connectedAt: string; lastSeen: string }
export interface Zone { name: string; shared: boolean; checks: number; lastSeen: string | null; workers: ZoneWorker[] }
export interface WorkerKey { id: string; name: string; zone: string; key?: string | null; createdAt: string; lastSeen: string | null; revoked: boolean }

/** A host agent's latest connection (GraphQL Agent). */
export interface Agent {
  agentId: string;
  hostName: string;
  connected: boolean;
  version: string;
  node: string;
  since: string;
  lastSeen: string;
  serial: string;
  certificateExpires: string | null;
}

/** Where an agent certificate stands (GraphQL AgentCertificateStatus). */
export type AgentCertificateStatus = "VALID" | "EXPIRING" | "EXPIRED" | "REVOKED";

/** A certificate of one of the site's agents (GraphQL AgentCertificate). */
export interface AgentCertificate {
  serial: string;
  agentId: string;
  template: boolean;
  notAfter: string;
  issuedAt: string;
  revokedAt: string | null;
  status: AgentCertificateStatus;
}

/** A one-time enrolment token with its copy-paste steps. */
export interface AgentEnrolment {
  host: string;
  template: boolean;
  token: string;
  expiresAt: string;
  commands: string[];
  hub: { url: string };
}
export interface ApiToken { id: string; name: string; userId: string; createdAt: string; lastUsed: string | null; revokedAt: string | null; expiresAt?: string | null }

export interface Session { id: string; createdAt: string; lastSeen: string; expiresAt: string; idleUntil: string; address: string; userAgent: string; current: boolean }

export interface AuditEntry { id: string; at: string; actor: string; via: string; address: string; action: string; target: string; outcome: "ok" | "failed" | "denied"; detail: string }
/** One <metrics-export> target with its delivery status (docs/metrics-export.md). */
export interface MetricsExport {
  name: string; protocol: string; url: string; auth: string; enabled: boolean; ownSeries: boolean;
  sent: number; dropped: number; queued: number; failures: number;
  lastSuccessAt: string | null; lastError: string; lastErrorAt: string | null; nextAttemptAt: string;
}
export interface SLAIncident { checkId: string; check: string; status: string; from: string; to: string; output: string }
export interface SLA {
  id: string; name: string; subject: string; subjectKind: string; checkId: string | null; target: number; period: string; timeZone: string;
  downtime: string; blind: string; from: string; to: string; percent: number; met: boolean;
  budgetSeconds: number; usedSeconds: number; remainingSeconds: number; remainingFraction: number; incidents: SLAIncident[];
}
export interface StatusIncidentUpdate { id: string; state: string; body: string; author: string; at: string }
export interface StatusIncident {
  id: string; kind: string; title: string; impact: string; state: string; components: string[];
  scheduledFrom: string | null; scheduledTo: string | null; createdAt: string; resolvedAt: string | null; updates: StatusIncidentUpdate[];
}
export interface StatusComponent { id: string; name: string; description: string; position: number; checkId: string | null; groupName: string | null }
export interface StatusPage {
  id: string; slug: string; title: string; description: string; domain: string | null; path: string;
  components: StatusComponent[]; incidents: StatusIncident[];
}
export interface Availability { seconds: number; ok: number; downtime: number; blind: number; pending: number; statuses: { status: string; fraction: number; seconds: number }[] }
