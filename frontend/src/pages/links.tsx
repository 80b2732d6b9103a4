// Pages the emailed single-use links open: sign-up confirmation
// (#/verify), invitation (#/accept-invite), password reset
// (#/reset-password), and the request for a reset link (#/forgot-password).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Site, User } from "../api/types";
import { navigate, type Route } from "../router";
import { useApp } from "../store/app";
import { SecondFactorStep, type Challenge } from "./security";

type Session = { token: string; site: Pick<Site, "id" | "name">; user: User; secondFactor?: Challenge | null };

/** LINK_PAGES are the public pages of this file, by route. */
export const LINK_PAGES = ["verify", "accept-invite", "reset-password", "forgot-password"];

function Card({ title, intro, children, onSubmit, error, busy, action }: {
  title: string; intro: ComponentChildren; children?: ComponentChildren; onSubmit?: (e: Event) => void; error: string | null; busy: boolean; action?: string;
}) {
  return (
    <div class="auth">
      <form class="auth-card" onSubmit={onSubmit} aria-labelledby="link-title">
        <div class="auth-brand">
          <span class="brand-mark" aria-hidden="true" /> Bergamot
        </div>
        <h1 id="link-title">{title}</h1>
        <p class="muted">{intro}</p>
        {children}
        {error && (
          <div class="errorbox" role="alert">
            {error}
          </div>
        )}
        {action && (
          <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
            {busy ? "Please wait…" : action}
          </button>
        )}
        <p class="auth-switch">
          <a href="#/signin">Back to sign in</a>
        </p>
      </form>
    </div>
  );
}

function PasswordField({ value, set, label, fresh }: { value: string; set: (v: string) => void; label: string; fresh: boolean }) {
  return (
    <label>
      {label}
      <input name="password" type="password" value={value} onInput={(e) => set(e.currentTarget.value)} required minLength={fresh ? 10 : 1} autoComplete={fresh ? "new-password" : "current-password"} />
    </label>
  );
}

function missingToken() {
  return <Card title="This link is incomplete" intro="The address has no token. Copy the whole link from the email into the address bar." error={null} busy={false} />;
}

/** LinkSignIn opens a confirmation or invitation link and signs in. */
function LinkSignIn({ route, kind }: { route: Route; kind: "verify" | "invite" }) {
  const app = useApp();
  const token = route.query.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  if (!token) return missingToken();

  function done(p: Session) {
    try {
      localStorage.setItem("bergamot.lastSite", p.site.name);
    } catch {
      /* ignore */
    }
    navigate(kind === "verify" ? "#/config" : "#/");
    app.signedIn(p.user, { id: p.site.id, name: p.site.name, summary: "" }, p.token);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let p: Session;
      if (kind === "verify") p = (await app.client.request<{ verifyEmail: Session }>(Q.VERIFY_EMAIL, { token, password })).verifyEmail;
      else p = (await app.client.request<{ acceptInvitation: Session }>(Q.ACCEPT_INVITATION, { token, password })).acceptInvitation;
      if (!p.token && p.secondFactor) {
        // The link proved the mailbox; the member's second factor is still needed.
        setChallenge(p.secondFactor);
        return;
      }
      done(p);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  if (challenge) return <SecondFactorStep challenge={challenge} onSignedIn={done} onCancel={() => setChallenge(null)} />;
  return kind === "verify" ? (
    <Card title="Confirm your email" intro="Enter the password you chose when you created the site (if you already had a Bergamot account: that account's password). Your site opens and you are signed in." onSubmit={submit} error={error} busy={busy} action="Confirm and sign in">
      <PasswordField value={password} set={setPassword} label="Password" fresh={false} />
    </Card>
  ) : (
    <Card title="Accept your invitation" intro="New to Bergamot? Choose your password (at least 10 characters, mixing letters with digits or symbols). Already have an account? Enter its password." onSubmit={submit} error={error} busy={busy} action="Accept and sign in">
      <PasswordField value={password} set={setPassword} label="Your password" fresh={false} />
    </Card>
  );
}

function ResetPassword({ route }: { route: Route }) {
  const app = useApp();
  const token = route.query.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  if (!token) return missingToken();
  if (done) return <Card title="Password changed" intro="Your new password is set. Sign in with it; other reset links you asked for no longer work." error={null} busy={false} />;
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await app.client.request(Q.RESET_PASSWORD, { token, password });
      setDone(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title="Choose a new password" intro="At least 10 characters, mixing letters with digits or symbols." onSubmit={submit} error={error} busy={busy} action="Set password">
      <PasswordField value={password} set={setPassword} label="New password" fresh />
    </Card>
  );
}

function ForgotPassword() {
  const app = useApp();
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  if (sent) return <Card title="Check your email" intro={`If ${email} has a Bergamot account, a link to choose a new password is on its way. It works once, for one hour.`} error={null} busy={false} />;
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await app.client.request(Q.REQUEST_PASSWORD_RESET, { email });
      setSent(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card title="Forgot your password?" intro="We mail you a link to choose a new one." onSubmit={submit} error={error} busy={busy} action="Mail me a link">
      <label>
        Email
        <input name="email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required autoComplete="username" />
      </label>
    </Card>
  );
}

/** LinkPage renders the public page of route (one of LINK_PAGES). */
export function LinkPage({ route }: { route: Route }) {
  switch (route.parts[0]) {
    case "verify":
      return <LinkSignIn key="v" route={route} kind="verify" />;
    case "accept-invite":
      return <LinkSignIn key="i" route={route} kind="invite" />;
    case "reset-password":
      return <ResetPassword route={route} />;
    default:
      return <ForgotPassword />;
  }
}
