// Account security: second factors (authenticator apps, security keys and
// passkeys), recovery codes, the site's requirement (administrators), and
// the second step of signing in. docs/second-factors.md.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Site, User } from "../api/types";
import { createPasskey, getPasskey, webauthnAvailable } from "../api/webauthn";
import { ErrorBox, Loading, useMutation, useQuery } from "../components/query";
import { ago, dateTime } from "../format";
import { useApp } from "../store/app";

export type Method = "TOTP" | "WEBAUTHN" | "RECOVERY";
export interface Factor { id: string; kind: Method; name: string; createdAt: string; lastUsed?: string | null }
interface Status { factors: Factor[]; recoveryCodesLeft: number; siteRequired: boolean; mustEnrol: boolean }
export interface Challenge { token: string; methods: Method[]; expiresAt: string }
export type SignInPayload = { token: string; site: Pick<Site, "id" | "name">; user: User; secondFactor?: Challenge | null };

const KIND: Record<Method, string> = { TOTP: "Authenticator app", WEBAUTHN: "Security key / passkey", RECOVERY: "Recovery code" };

export function SecurityPage({ forced = false, onEnrolled }: { forced?: boolean; onEnrolled?: () => void }) {
  const { data, error, loading, refetch } = useQuery<{ me: User; secondFactors: Status }>(Q.SECOND_FACTORS);
  const [codes, setCodes] = useState<string[] | null>(null);
  const changed = (fresh?: string[] | null) => {
    if (fresh?.length) setCodes(fresh);
    void refetch();
    onEnrolled?.();
  };
  const st = data?.secondFactors;
  return (
    <div class="page">
      <div class="page-head"><h1>Account security</h1></div>
      {forced && (
        <div class="notice" role="alert">
          <strong>This site requires a second factor for every member.</strong> Add an authenticator app or a security key to continue; nothing else works until you do.
        </div>
      )}
      <ErrorBox error={error} retry={refetch} />
      {!data && loading && <Loading />}
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      {st && (
        <>
          <Factors factors={st.factors} onChanged={() => changed()} />
          <EnrolTotp onDone={changed} />
          <RegisterPasskey onDone={changed} />
          {st.factors.length > 0 && <Recovery left={st.recoveryCodesLeft} onNew={(c) => changed(c)} />}
          {data?.me.role === "ADMIN" && !forced && <SiteRequirement required={st.siteRequired} onChanged={() => changed()} />}
        </>
      )}
    </div>
  );
}

function Factors({ factors, onChanged }: { factors: Factor[]; onChanged: () => void }) {
  const remove = useMutation(Q.REMOVE_SECOND_FACTOR);
  return (
    <section class="panel">
      <h2>Second factors <span class="count">{factors.length}</span></h2>
      <p class="muted small">After your password, signing in asks for one of these. Nothing is remembered between sign-ins.</p>
      {factors.length === 0 ? <div class="empty">No second factor yet: your password alone signs you in.</div> : (
        <div class="table" role="table" aria-label="Second factors">
          {factors.map((f) => (
            <div class="tr" role="row" key={f.id} data-factor={f.kind}>
              <span role="cell" class="c-name"><span class="check-name">{f.name}</span> <span class="chip">{KIND[f.kind]}</span></span>
              <span role="cell" class="muted small" title={`Added ${dateTime(f.createdAt)}`}>added {ago(f.createdAt)} · {f.lastUsed ? `last used ${ago(f.lastUsed)}` : "never used"}</span>
              <span role="cell">
                <button class="btn btn-small btn-danger" disabled={remove.busy} onClick={async () => {
                  let password: string | null = null;
                  if (factors.length === 1) {
                    password = prompt("This is your last second factor: enter your password to remove it (your recovery codes go with it).");
                    if (!password) return;
                  } else if (!confirm(`Remove ${f.name}?`)) return;
                  if (await remove.run({ id: f.id, password }, "Second factor removed")) onChanged();
                }}>Remove</button>
              </span>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function EnrolTotp({ onDone }: { onDone: (codes?: string[] | null) => void }) {
  const begin = useMutation<{ beginTotpEnrolment: { id: string; secret: string; uri: string; qrCode: string } }>(Q.BEGIN_TOTP);
  const confirmIt = useMutation<{ confirmTotpEnrolment: { recoveryCodes?: string[] | null } }>(Q.CONFIRM_TOTP);
  const [name, setName] = useState("");
  const [pending, setPending] = useState<{ id: string; secret: string; uri: string; qrCode: string } | null>(null);
  const [code, setCode] = useState("");
  return (
    <section class="panel" aria-label="Authenticator app">
      <h2>Authenticator app</h2>
      {!pending ? (
        <form class="inline-form" onSubmit={async (e) => {
          e.preventDefault();
          const d = await begin.run({ name: name || null });
          if (d) setPending(d.beginTotpEnrolment);
        }}>
          <label>Name <input name="totp-name" value={name} placeholder="Phone" maxLength={100} onInput={(e) => setName(e.currentTarget.value)} /></label>
          <button class="btn" data-action="begin-totp" disabled={begin.busy}>Add an authenticator app</button>
        </form>
      ) : (
        <form class="stack-form" onSubmit={async (e) => {
          e.preventDefault();
          const d = await confirmIt.run({ id: pending.id, code }, "Authenticator app added");
          if (d) { setPending(null); setCode(""); onDone(d.confirmTotpEnrolment.recoveryCodes); }
        }}>
          <p>Scan this code with your authenticator app (or type the key), then enter the 6 digits it shows.</p>
          <img class="qr" src={pending.qrCode} width={200} height={200} alt={`QR code for ${pending.uri}`} />
          <p class="small">Key: <code class="mono" data-totp-secret>{pending.secret}</code></p>
          <label>Code <input name="totp-code" inputMode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required value={code} onInput={(e) => setCode(e.currentTarget.value)} /></label>
          <div>
            <button class="btn btn-primary" data-action="confirm-totp" disabled={confirmIt.busy}>Confirm</button>{" "}
            <button type="button" class="btn" onClick={() => setPending(null)}>Cancel</button>
          </div>
        </form>
      )}
    </section>
  );
}

function RegisterPasskey({ onDone }: { onDone: (codes?: string[] | null) => void }) {
  const app = useApp();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  if (!webauthnAvailable())
    return (
      <section class="panel"><h2>Security keys and passkeys</h2>
        <div class="empty">This browser cannot use security keys here (they need HTTPS, or localhost).</div>
      </section>
    );
  return (
    <section class="panel" aria-label="Security keys and passkeys">
      <h2>Security keys and passkeys</h2>
      <p class="muted small">A security key, or a passkey kept by this device or your password manager. It works only at this address.</p>
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          const b = await app.client.request<{ beginPasskeyRegistration: { token: string; options: string } }>(Q.BEGIN_PASSKEY_REGISTRATION, {});
          const response = await createPasskey(b.beginPasskeyRegistration.options);
          const d = await app.client.request<{ finishPasskeyRegistration: { recoveryCodes?: string[] | null } }>(Q.FINISH_PASSKEY_REGISTRATION,
            { token: b.beginPasskeyRegistration.token, name: name || null, response });
          app.toast({ kind: "info", title: "Security key added" }, 4000);
          setName("");
          onDone(d.finishPasskeyRegistration.recoveryCodes);
        } catch (err) {
          app.toast({ kind: "error", title: "Adding the security key failed", body: (err as Error).message });
        } finally {
          setBusy(false);
        }
      }}>
        <label>Name <input name="passkey-name" value={name} placeholder="YubiKey" maxLength={100} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <button class="btn" data-action="add-passkey" disabled={busy}>Add a security key or passkey</button>
      </form>
    </section>
  );
}

function Recovery({ left, onNew }: { left: number; onNew: (codes: string[]) => void }) {
  const regen = useMutation<{ regenerateRecoveryCodes: string[] }>(Q.REGENERATE_RECOVERY_CODES);
  return (
    <section class="panel">
      <h2>Recovery codes</h2>
      <p class="muted small" data-recovery-left={left}>{left} unused. Each signs you in once when you cannot use your second factor.</p>
      <button class="btn" data-action="regenerate-codes" disabled={regen.busy} onClick={async () => {
        if (!confirm("Make ten new recovery codes? The old ones stop working.")) return;
        const d = await regen.run({});
        if (d) onNew(d.regenerateRecoveryCodes);
      }}>New recovery codes</button>
    </section>
  );
}

/** RecoveryCodes shows fresh recovery codes, this once. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <section class="panel notice" role="alert" aria-label="Your recovery codes">
      <h2>Your recovery codes</h2>
      <p>Keep these somewhere safe (a password manager, or on paper). Each works once. They are not shown again.</p>
      <ol class="recovery-codes mono">{codes.map((c) => <li key={c}>{c}</li>)}</ol>
      <button class="btn" onClick={onDone}>I have saved them</button>
    </section>
  );
}

function SiteRequirement({ required, onChanged }: { required: boolean; onChanged: () => void }) {
  const set = useMutation(Q.SET_REQUIRE_SECOND_FACTOR);
  return (
    <section class="panel">
      <h2>Site policy</h2>
      <label class="check">
        <input type="checkbox" name="require-second-factor" checked={required} disabled={set.busy} onChange={async (e) => {
          if (await set.run({ required: e.currentTarget.checked }, "Site policy saved")) onChanged();
        }} /> Require a second factor for every member
      </label>
      <p class="muted small">Members without one can only enrol one after signing in. API tokens are not affected.</p>
    </section>
  );
}

/** SecondFactorStep is the second step of signing in. */
export function SecondFactorStep({ challenge, onSignedIn, onCancel }: { challenge: Challenge; onSignedIn: (p: SignInPayload) => void; onCancel: () => void }) {
  const app = useApp();
  const first: Method = challenge.methods.includes("WEBAUTHN") && webauthnAvailable() ? "WEBAUTHN" : challenge.methods.includes("TOTP") ? "TOTP" : "RECOVERY";
  const [method, setMethod] = useState<Method>(first);
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function finish(vars: Record<string, unknown>) {
    const d = await app.client.request<{ finishSignIn: SignInPayload }>(Q.FINISH_SIGN_IN, { challenge: challenge.token, ...vars });
    onSignedIn(d.finishSignIn);
  }
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (method === "WEBAUTHN") {
        const b = await app.client.request<{ beginPasskeySignIn: string }>(Q.BEGIN_PASSKEY_SIGN_IN, { challenge: challenge.token });
        await finish({ method, response: await getPasskey(b.beginPasskeySignIn) });
      } else await finish({ method, code });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit} aria-labelledby="second-title">
        <div class="auth-brand"><span class="brand-mark" aria-hidden="true" /> Bergamot</div>
        <h1 id="second-title">Second factor</h1>
        <p class="muted">{method === "WEBAUTHN" ? "Use your security key or passkey." : method === "TOTP" ? "Enter the 6-digit code your authenticator app shows." : "Enter one of your recovery codes. It works once."}</p>
        {method !== "WEBAUTHN" && (
          <label>
            {method === "TOTP" ? "Code" : "Recovery code"}
            <input name="code" autoFocus required value={code} onInput={(e) => setCode(e.currentTarget.value)}
              autoComplete="one-time-code" inputMode={method === "TOTP" ? "numeric" : "text"} />
          </label>
        )}
        {error && <div class="errorbox" role="alert">{error}</div>}
        <button class="btn btn-primary btn-block" type="submit" data-action="second-factor" disabled={busy}>
          {busy ? "Please wait…" : method === "WEBAUTHN" ? "Use security key" : "Verify"}
        </button>
        <p class="auth-switch">
          {challenge.methods.filter((m) => m !== method && (m !== "WEBAUTHN" || webauthnAvailable())).map((m) => (
            <button type="button" class="linklike" key={m} data-method={m} onClick={() => { setMethod(m); setError(null); setCode(""); }}>Use {KIND[m].toLowerCase()} instead</button>
          ))}{" "}
          <a href="#/signin" onClick={onCancel}>Start again</a>
        </p>
      </form>
    </div>
  );
}

/** EnrolRequired shows the security page instead of children while the
 * site requires a second factor and the member has none. */
export function EnrolRequired({ children }: { children: ComponentChildren }) {
  const { data, refetch } = useQuery<{ secondFactors: { mustEnrol: boolean } }>(Q.MUST_ENROL);
  if (data?.secondFactors.mustEnrol) return <SecurityPage forced onEnrolled={refetch} />;
  return <>{children}</>;
}
