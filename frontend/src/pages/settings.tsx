// Site settings: users and roles, API tokens.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { ApiToken, Role, Site, User } from "../api/types";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { ago, dateTime } from "../format";
import { permissions } from "../store/permissions";

const ROLES: Role[] = ["ADMIN", "EDITOR", "VIEWER"];

export function SettingsPage() {
  const { data, error, loading, refetch } = useQuery<{ site: Site; me: User; users: User[]; apiTokens: ApiToken[] }>(Q.SETTINGS);
  return (
    <div class="page">
      <div class="page-head"><h1>Site settings</h1></div>
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {data && (
        <>
          <section class="panel">
            <h2>Site</h2>
            <div class="check-facts">
              <div class="fact"><span class="fact-label">Name</span><span class="fact-value mono">{data.site.name}</span></div>
              <div class="fact"><span class="fact-label">Description</span><span class="fact-value">{data.site.summary || "—"}</span></div>
              {data.site.aliases.length > 0 && <div class="fact"><span class="fact-label">Aliases</span><span class="fact-value">{data.site.aliases.join(", ")}</span></div>}
              <div class="fact"><span class="fact-label">You</span><span class="fact-value">{data.me.email} ({data.me.role.toLowerCase()})</span></div>
            </div>
          </section>
          <Users users={data.users} me={data.me} onChanged={refetch} />
          <Tokens tokens={data.apiTokens} users={data.users} me={data.me} onChanged={refetch} />
        </>
      )}
    </div>
  );
}

function Users({ users, me, onChanged }: { users: User[]; me: User; onChanged: () => void }) {
  const setRole = useMutation(Q.SET_ROLE);
  const invite = useMutation(Q.INVITE_USER);
  const [email, setEmail] = useState("");
  const [role, setRoleNew] = useState<Role>("VIEWER");
  const perm = permissions(me.role);
  const admin = perm.canManageUsers;
  return (
    <section class="panel">
      <h2>Users <span class="count">{users.length}</span></h2>
      <div class="table" role="table" aria-label="Users">
        {users.map((u) => (
          <div class="tr" role="row" key={u.id}>
            <span role="cell" class="c-name"><span class="check-name">{u.displayName || u.email}</span> <span class="muted small">{u.email}</span></span>
            <span role="cell">
              <select aria-label={`Role of ${u.email}`} value={u.role} title={perm.usersReason || (u.id === me.id ? "You cannot change your own role" : undefined)} disabled={!admin || u.id === me.id || setRole.busy} onChange={async (e) => { if (await setRole.run({ userId: u.id, role: e.currentTarget.value }, "Role changed")) onChanged(); }}>
                {ROLES.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
              </select>
            </span>
          </div>
        ))}
      </div>
      {admin && (
        <form class="inline-form" onSubmit={async (e) => { e.preventDefault(); if (await invite.run({ email, role }, `Invitation mailed to ${email}: they choose their own password through the link`)) { setEmail(""); onChanged(); } }}>
          <input type="email" required placeholder="new.user@example.com" aria-label="Email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <select aria-label="Role" value={role} onChange={(e) => setRoleNew(e.currentTarget.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
          </select>
          <button class="btn btn-small" disabled={invite.busy}>Invite user</button>
        </form>
      )}
      {!admin && <p class="muted small users-note">{perm.usersReason}</p>}
    </section>
  );
}

function Tokens({ tokens, users, me, onChanged }: { tokens: ApiToken[]; users: User[]; me: User; onChanged: () => void }) {
  const perm = permissions(me.role);
  const create = useMutation<{ createApiToken: string }>(Q.CREATE_TOKEN);
  const revoke = useMutation(Q.REVOKE_TOKEN);
  const [name, setName] = useState("");
  const [fresh, setFresh] = useState<string | null>(null);
  const who = (id: string) => users.find((u) => u.id === id)?.email ?? id;
  return (
    <section class="panel">
      <h2>API tokens</h2>
      {fresh && (
        <div class="notice" role="status">
          <strong>Copy this token now; it is not shown again.</strong>
          <code class="token">{fresh}</code>
          <button class="btn btn-small" onClick={() => void navigator.clipboard?.writeText(fresh)}>Copy</button>
        </div>
      )}
      {tokens.length === 0 ? <div class="empty">No API tokens.</div> : (
        <div class="table" role="table" aria-label="API tokens">
          {tokens.map((t) => (
            <div class={`tr ${t.revokedAt ? "is-handled" : ""}`} role="row" key={t.id}>
              <span role="cell" class="c-name"><span class="check-name">{t.name}</span> <span class="muted small">{who(t.userId)}</span></span>
              <span role="cell" class="muted small" title={dateTime(t.createdAt)}>created {ago(t.createdAt)} · {t.lastUsed ? `used ${ago(t.lastUsed)}` : "never used"}</span>
              <span role="cell">
                {t.revokedAt ? <span class="chip">revoked {ago(t.revokedAt)}</span> : (
                  <button class="btn btn-small btn-danger" disabled={revoke.busy} onClick={async () => { if (confirm(`Revoke token "${t.name}"?`) && (await revoke.run({ id: t.id }, "Token revoked"))) onChanged(); }}>Revoke</button>
                )}
              </span>
            </div>
          ))}
        </div>
      )}
      <form class="inline-form" onSubmit={async (e) => { e.preventDefault(); const d = await create.run({ name }); if (d) { setFresh(d.createApiToken); setName(""); onChanged(); } }}>
        <input required placeholder="Token name, e.g. ci-deploy" aria-label="Token name" disabled={!perm.canEdit} title={perm.editReason || undefined} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button class="btn btn-small" data-action="create-token" disabled={!perm.canEdit || create.busy} title={perm.editReason || undefined}>Create token</button>
      </form>
    </section>
  );
}
