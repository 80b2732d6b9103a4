// Site settings: users and roles, API tokens.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { ApiToken, Role, Site, User } from "../api/types";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { useApp } from "../store/app";
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
            <span role="cell" class="c-name"><span class="check-name">{u.displayName || u.email}</span> <span class="muted small">{u.email}</span>
              {u.disabled && <span class="chip">disabled</span>}{u.mustChangePassword && <span class="chip">must change password</span>}</span>
            <span role="cell">
              <select aria-label={`Role of ${u.email}`} value={u.role} title={perm.usersReason || (u.id === me.id ? "You cannot change your own role" : undefined)} disabled={!admin || u.id === me.id || setRole.busy} onChange={async (e) => { if (await setRole.run({ userId: u.id, role: e.currentTarget.value }, "Role changed")) onChanged(); }}>
                {ROLES.map((r) => <option key={r} value={r}>{r.toLowerCase()}</option>)}
              </select>
            </span>
            {admin && u.id !== me.id && <MemberActions user={u} onChanged={onChanged} />}
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

function MemberActions({ user, onChanged }: { user: User; onChanged: () => void }) {
  const disable = useMutation(Q.DISABLE_USER);
  const remove = useMutation(Q.REMOVE_MEMBER);
  const force = useMutation(Q.REQUIRE_PASSWORD_CHANGE);
  const reset = useMutation<{ resetSecondFactors: number }>(Q.RESET_SECOND_FACTORS);
  const app = useApp();
  const busy = disable.busy || remove.busy || force.busy || reset.busy;
  return (
    <span role="cell" class="row-actions">
      <button class="btn btn-small" disabled={busy} data-action={user.disabled ? "enable-user" : "disable-user"} title={user.disabled ? "Let them sign in again" : "They cannot sign in; their sessions end and their tokens are refused until enabled"}
        onClick={async () => { if (await disable.run({ userId: user.id, disabled: !user.disabled }, user.disabled ? `${user.email} enabled` : `${user.email} disabled`)) onChanged(); }}>
        {user.disabled ? "Enable" : "Disable"}
      </button>
      <button class="btn btn-small" disabled={busy || user.mustChangePassword} data-action="require-password-change" title="They must choose a new password before doing anything else"
        onClick={async () => { if (await force.run({ userId: user.id }, `${user.email} must change their password`)) onChanged(); }}>Require new password</button>
      <button class="btn btn-small" disabled={busy} data-action="reset-second-factors" title="For a member who lost their authenticator app or security key: removes every second factor and recovery code they have here"
        onClick={async () => {
          if (!confirm(`Reset ${user.email}'s second factors? Every authenticator app, security key, passkey and recovery code they have in this site is removed; they sign in with their password alone (and must enrol again if this site requires a second factor). Do this only once you are sure who is asking.`)) return;
          const d = await reset.run({ userId: user.id });
          if (!d) return;
          const n = d.resetSecondFactors;
          app.toast({ kind: "info", title: n === 0 ? `${user.email} had no second factors` : `${n} second factor${n === 1 ? "" : "s"} of ${user.email} removed` }, 4000);
          onChanged();
        }}>Reset second factors</button>
      <button class="btn btn-small btn-danger" disabled={busy} data-action="remove-member"
        onClick={async () => { if (confirm(`Remove ${user.email} from this site? Their sessions end and their API tokens are revoked at once.`) && (await remove.run({ userId: user.id }, `${user.email} removed`))) onChanged(); }}>Remove</button>
    </span>
  );
}

function Tokens({ tokens, users, me, onChanged }: { tokens: ApiToken[]; users: User[]; me: User; onChanged: () => void }) {
  const perm = permissions(me.role);
  const create = useMutation<{ createApiToken: string }>(Q.CREATE_TOKEN);
  const revoke = useMutation(Q.REVOKE_TOKEN);
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
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
              <span role="cell" class="muted small" title={dateTime(t.createdAt)}>created {ago(t.createdAt)} · {t.lastUsed ? `used ${ago(t.lastUsed)}` : "never used"} · {t.expiresAt ? (new Date(t.expiresAt) < new Date() ? `expired ${ago(t.expiresAt)}` : `expires ${dateTime(t.expiresAt)}`) : "never expires"}</span>
              <span role="cell">
                {t.revokedAt ? <span class="chip">revoked {ago(t.revokedAt)}</span> : (
                  <button class="btn btn-small btn-danger" disabled={revoke.busy} onClick={async () => { if (confirm(`Revoke token "${t.name}"?`) && (await revoke.run({ id: t.id }, "Token revoked"))) onChanged(); }}>Revoke</button>
                )}
              </span>
            </div>
          ))}
        </div>
      )}
      <form class="inline-form" onSubmit={async (e) => { e.preventDefault(); const d = await create.run({ name, expiresAt: days === "" ? null : new Date(Date.now() + Number(days) * 86400000).toISOString() }); if (d) { setFresh(d.createApiToken); setName(""); onChanged(); } }}>
        <input required placeholder="Token name, e.g. ci-deploy" aria-label="Token name" disabled={!perm.canEdit} title={perm.editReason || undefined} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <select aria-label="Expires" value={days} disabled={!perm.canEdit} onChange={(e) => setDays(e.currentTarget.value)}>
          <option value="7">expires in 7 days</option><option value="30">expires in 30 days</option><option value="90">expires in 90 days</option>
          <option value="365">expires in a year</option><option value="">never expires</option>
        </select>
        <button class="btn btn-small" data-action="create-token" disabled={!perm.canEdit || create.busy} title={perm.editReason || undefined}>Create token</button>
      </form>
    </section>
  );
}
