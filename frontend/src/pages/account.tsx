// Your account: change your password, see and end your sessions
// ("sign out everywhere"). Also shown in place of any page while an
// administrator requires a password change.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Session, User } from "../api/types";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { ago, dateTime } from "../format";
import { useApp } from "../store/app";

export function AccountPage({ forced = false, onChanged }: { forced?: boolean; onChanged?: () => void }) {
  const { data, error, loading, refetch } = useQuery<{ me: User; sessions: Session[] }>(forced ? Q.MUST_CHANGE : Q.ACCOUNT);
  return (
    <div class="page">
      <div class="page-head"><h1>Your account</h1></div>
      {forced && (
        <div class="notice" role="alert">
          <strong>An administrator asks you to change your password.</strong> Choose a new one to continue; nothing else works until you do.
        </div>
      )}
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      <ChangePassword onDone={() => { void refetch(); onChanged?.(); }} />
      {data && !forced && <Sessions sessions={data.sessions} onChanged={refetch} />}
    </div>
  );
}

function ChangePassword({ onDone }: { onDone: () => void }) {
  const change = useMutation(Q.CHANGE_PASSWORD);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = again !== "" && next !== again;
  return (
    <section class="panel">
      <h2>Change password</h2>
      <p class="muted small">At least 10 characters, not on the list of common passwords. Your other sessions, in every site, are signed out.</p>
      <form class="stack-form" onSubmit={async (e) => {
        e.preventDefault();
        if (mismatch) return;
        if (await change.run({ current, new: next }, "Password changed")) { setCurrent(""); setNext(""); setAgain(""); onDone(); }
      }}>
        <label>Current password <input type="password" required autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} /></label>
        <label>New password <input type="password" required minLength={10} autocomplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} /></label>
        <label>New password again <input type="password" required autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} aria-invalid={mismatch} /></label>
        {mismatch && <span class="field-error" role="alert">The two new passwords differ.</span>}
        <div><button class="btn" data-action="change-password" disabled={change.busy || mismatch}>Change password</button></div>
      </form>
    </section>
  );
}

function Sessions({ sessions, onChanged }: { sessions: Session[]; onChanged: () => void }) {
  const app = useApp();
  const revoke = useMutation(Q.REVOKE_SESSION);
  const all = useMutation<{ signOutEverywhere: number }>(Q.SIGN_OUT_EVERYWHERE);
  return (
    <section class="panel">
      <h2>Sessions <span class="count">{sessions.length}</span></h2>
      <p class="muted small">Browsers signed in to this site as you. A session ends after 12 hours unused or 14 days at most (the operator may set other limits).</p>
      {sessions.length === 0 ? <div class="empty">No browser sessions (you are using an API token).</div> : (
        <div class="table" role="table" aria-label="Sessions">
          {sessions.map((s) => (
            <div class="tr" role="row" key={s.id} data-session={s.current ? "current" : "other"}>
              <span role="cell" class="c-name"><span class="check-name">{browserOf(s.userAgent)}</span> <span class="muted small mono">{s.address || "unknown address"}</span>{s.current && <span class="chip">this browser</span>}</span>
              <span role="cell" class="muted small" title={`Signed in ${dateTime(s.createdAt)}; ends ${dateTime(s.expiresAt)} at the latest`}>signed in {ago(s.createdAt)} · active {ago(s.lastSeen)}</span>
              <span role="cell">
                <button class="btn btn-small btn-danger" disabled={revoke.busy} onClick={async () => {
                  if (await revoke.run({ id: s.id }, s.current ? "Signed out" : "Session ended")) { if (s.current) void app.signOut(); else onChanged(); }
                }}>{s.current ? "Sign out" : "End"}</button>
              </span>
            </div>
          ))}
        </div>
      )}
      <div class="inline-form">
        <button class="btn btn-danger" data-action="sign-out-everywhere" disabled={all.busy} onClick={async () => {
          if (!confirm("Sign out every browser signed in to this site as you, this one included?")) return;
          const d = await all.run({}, "Signed out everywhere");
          if (d) void app.signOut();
        }}>Sign out everywhere</button>
      </div>
    </section>
  );
}

/** browserOf names a browser from its user agent, roughly. */
export function browserOf(ua: string): string {
  if (!ua) return "Unknown browser";
  const m = /(Firefox|Edg|Chrome|Chromium|Safari)\/[\d.]+/.exec(ua);
  const os = /Windows|Mac OS X|Linux|Android|iPhone|iPad/.exec(ua)?.[0];
  const name = m ? (m[1] === "Edg" ? "Edge" : m[1]) : ua.split(" ")[0];
  return os ? `${name} on ${os === "Mac OS X" ? "macOS" : os}` : name;
}

/** ForcedPasswordChange shows the account page instead of children while
 * the signed-in user must change their password. */
export function ForcedPasswordChange({ children }: { children: ComponentChildren }) {
  const { data, refetch } = useQuery<{ me: User }>(Q.MUST_CHANGE);
  if (data?.me.mustChangePassword) return <AccountPage forced onChanged={refetch} />;
  return <>{children}</>;
}
