// Host agents: who is connected where, their certificates, enrolment and revocation.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Agent, AgentCertificate, AgentCertificateStatus, AgentEnrolment } from "../api/types";
import { ErrorBox, Loading, useMutation, useNow, useQuery } from "../components/query";
import { ago, dateTime, since } from "../format";
import { usePermissions } from "../store/permissions";

interface AgentsData {
  agents: Agent[];
  agentHub: { url: string; caCertificate: string } | null;
}

export function AgentsPage() {
  const now = useNow(5000);
  const { data, error, loading, refetch } = useQuery<AgentsData>(Q.AGENTS);
  const perm = usePermissions();
  const revoke = useMutation<{ revokeAgent: string[] }>(Q.REVOKE_AGENT);
  const connected = data?.agents.filter((a) => a.connected).length ?? 0;
  return (
    <div class="page">
      <div class="page-head">
        <h1>Host agents</h1>
        <span class="muted">{data ? `${connected} of ${data.agents.length} connected` : ""}</span>
      </div>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && !data.agentHub && (
        <div class="panel empty">
          This Bergamot runs no agent hub. The operator starts <code>bergamot serve --agent-manager HOST:8444</code> (see docs/agent.md).
        </div>
      )}
      {data && data.agentHub && <Enrol hubUrl={data.agentHub.url} admin={perm.canManageUsers} reason={perm.usersReason} />}
      {data && (
        <section class="panel">
          <h2>Agents <span class="count">{data.agents.length}</span></h2>
          {data.agents.length === 0 && <div class="empty">No agent has connected yet. Add a host with the agent above.</div>}
          <div class="table agents-table" role="table" aria-label="Agents">
            {data.agents.map((a) => {
              const expires = a.certificateExpires ? Date.parse(a.certificateExpires) : null;
              const soon = expires !== null && expires - now < 14 * 24 * 3600 * 1000;
              return (
                <div class="tr" role="row" key={a.agentId}>
                  <span role="cell" class="c-status">
                    <span class={`badge ${a.connected ? "st-ok" : "st-disconnected"}`}>
                      <span class="badge-icon" aria-hidden="true">{a.connected ? "✓" : "✕"}</span>
                      <span class="badge-word">{a.connected ? "CONNECTED" : "DISCONNECTED"}</span>
                    </span>
                  </span>
                  <span role="cell" class="c-name">
                    <span class="check-name mono">{a.agentId}</span> <span class="muted small">{a.hostName}</span>
                  </span>
                  <span role="cell" class="c-output">
                    {a.version || "?"} on node <span class="mono">{a.node}</span>
                    {expires !== null && (
                      <span class={soon ? "chip chip-warn" : "muted small"} title={`Certificate ${a.serial}`}>
                        {" "}certificate expires {dateTime(a.certificateExpires)}
                      </span>
                    )}
                  </span>
                  <span role="cell" class="c-dur" title={`Connected ${dateTime(a.since)}`}>
                    {a.connected ? `since ${since(a.since, now)}` : `seen ${ago(a.lastSeen, now)}`}
                  </span>
                  <span role="cell">
                    <button class="btn btn-small btn-danger" disabled={!perm.canManageUsers || revoke.busy} title={perm.usersReason || `Revoke every certificate of ${a.agentId}`}
                      onClick={async () => {
                        if (!confirm(`Revoke the certificates of ${a.agentId}? Its agent is disconnected within seconds and needs a new certificate.`)) return;
                        if (await revoke.run({ host: a.agentId }, `Revoked ${a.agentId}`)) void refetch();
                      }}>
                      Revoke
                    </button>
                  </span>
                </div>
              );
            })}
          </div>
        </section>
      )}
      {data && data.agentHub && perm.canManageUsers && <Certificates hosts={data.agents.map((a) => a.agentId)} onRevoked={() => void refetch()} />}
    </div>
  );
}

const certBadge: Record<AgentCertificateStatus, { cls: string; icon: string }> = {
  VALID: { cls: "st-ok", icon: "✓" },
  EXPIRING: { cls: "st-warning", icon: "!" },
  EXPIRED: { cls: "st-critical", icon: "✕" },
  REVOKED: { cls: "st-pending", icon: "⊘" },
};

/** Certificates lists the site's agent certificates, per host when one is
 * picked, with serial, expiry and status, and revokes one by serial
 * (administrators only: the query is theirs). */
function Certificates({ hosts, onRevoked }: { hosts: string[]; onRevoked: () => void }) {
  const { data, error, loading, refetch } = useQuery<{ agentCertificates: AgentCertificate[] }>(Q.AGENT_CERTIFICATES);
  const revoke = useMutation<{ revokeAgentCertificate: string[] }>(Q.REVOKE_AGENT_CERTIFICATE);
  const [host, setHost] = useState("");
  const all = data?.agentCertificates ?? [];
  const names = [...new Set([...hosts, ...all.map((c) => c.agentId)])].sort();
  const shown = host === "" ? all : all.filter((c) => c.agentId === host);
  return (
    <section class="panel">
      <h2>
        Certificates <span class="count">{shown.length}</span>
      </h2>
      <label class="muted">
        Host{" "}
        <select value={host} onChange={(e) => setHost(e.currentTarget.value)} aria-label="Certificates of host">
          <option value="">all hosts</option>
          {names.map((n) => (
            <option value={n} key={n}>{n}</option>
          ))}
        </select>
      </label>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && shown.length === 0 && <div class="empty">No certificate {host ? `for ${host} ` : ""}yet: enrol a host above.</div>}
      <div class="table cert-table" role="table" aria-label="Certificates">
        {shown.map((c) => (
          <div class="tr" role="row" key={c.serial}>
            <span role="cell" class="c-status">
              <span class={`badge ${certBadge[c.status].cls}`}>
                <span class="badge-icon" aria-hidden="true">{certBadge[c.status].icon}</span>
                <span class="badge-word">{c.status}</span>
              </span>
            </span>
            <span role="cell" class="c-name">
              <span class="check-name mono">{c.agentId}</span> {c.template && <span class="chip">template</span>}
            </span>
            <span role="cell" class="c-output mono small" title="Serial">{c.serial}</span>
            <span role="cell" class="c-dur" title={`Issued ${dateTime(c.issuedAt)}`}>
              {c.revokedAt ? `revoked ${dateTime(c.revokedAt)}` : `${c.status === "EXPIRED" ? "expired" : "until"} ${dateTime(c.notAfter)}`}
            </span>
            <span role="cell">
              <button class="btn btn-small btn-danger" disabled={c.revokedAt !== null || revoke.busy} title={`Revoke certificate ${c.serial}`}
                onClick={async () => {
                  if (!confirm(`Revoke certificate ${c.serial} of ${c.agentId}? An agent connected with it is dropped within seconds.`)) return;
                  if (await revoke.run({ serial: c.serial }, `Revoked certificate ${c.serial}`)) {
                    void refetch();
                    onRevoked();
                  }
                }}>
                Revoke
              </button>
            </span>
          </div>
        ))}
      </div>
    </section>
  );
}

/** Enrol walks an administrator through adding a host with the agent. */
function Enrol({ hubUrl, admin, reason }: { hubUrl: string; admin: boolean; reason: string }) {
  const create = useMutation<{ createAgentEnrolment: AgentEnrolment }>(Q.CREATE_AGENT_ENROLMENT);
  const [host, setHost] = useState("");
  const [template, setTemplate] = useState(false);
  const [enrolment, setEnrolment] = useState<AgentEnrolment | null>(null);
  return (
    <section class="panel">
      <h2>Add a host with the agent</h2>
      <p class="muted">
        The agent runs on the host and dials out to <span class="mono">{hubUrl}</span>; its key is made on the host and never leaves it.
      </p>
      <ol class="steps">
        <li>
          Add the host to the configuration, e.g. <code>{`<host name="web1" extends="linux-server-agent" agent-id="web1"/>`}</code>, or enrol a
          template so that agents register their own host.
        </li>
        <li>
          <form
            class="inline-form"
            onSubmit={async (e) => {
              e.preventDefault();
              const d = await create.run({ host: host.trim(), template });
              if (d) setEnrolment(d.createAgentEnrolment);
            }}
          >
            <label>
              {template ? "Host template" : "Host id"}{" "}
              <input value={host} required placeholder={template ? "linux-server-agent" : "web1"} onInput={(e) => setHost(e.currentTarget.value)} aria-label={template ? "Host template" : "Host id"} />
            </label>
            <label>
              <input type="checkbox" checked={template} onChange={(e) => setTemplate(e.currentTarget.checked)} /> template (auto-registration)
            </label>
            <button class="btn" disabled={!admin || create.busy || host.trim() === ""} title={reason || undefined}>
              Create enrolment token
            </button>
          </form>
        </li>
        {enrolment && (
          <li>
            On the host, run these (the token works once, until {dateTime(enrolment.expiresAt)}):
            {enrolment.commands.map((c, i) => (
              <pre class="code" key={i} aria-label={`Step ${i + 1}`}>{c}</pre>
            ))}
          </li>
        )}
      </ol>
    </section>
  );
}
