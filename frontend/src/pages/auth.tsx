// Sign in and sign up.
import { useState } from "preact/hooks";
import * as Q from "../api/queries";
import type { Site, User } from "../api/types";
import { navigate } from "../router";
import { useApp } from "../store/app";
import { SecondFactorStep, type Challenge } from "./security";

type Payload = { token: string; confirmationSentTo?: string | null; site: Pick<Site, "id" | "name">; user: User; secondFactor?: Challenge | null };

export function AuthPage({ mode }: { mode: "signin" | "signup" }) {
  const app = useApp();
  const [site, setSite] = useState(() => localStorage.getItem("bergamot.lastSite") ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [summary, setSummary] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  // The password was right and a second factor is needed: no session yet.
  const [challenge, setChallenge] = useState<Challenge | null>(null);

  function done(p: Payload) {
    try {
      localStorage.setItem("bergamot.lastSite", p.site.name);
    } catch {
      /* ignore */
    }
    navigate(mode === "signup" ? "#/config" : "#/");
    app.signedIn(p.user, { id: p.site.id, name: p.site.name, summary: summary }, p.token);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let p: Payload;
      if (mode === "signup") {
        const d = await app.client.request<{ signUp: Payload }>(Q.SIGN_UP, { input: { siteName: site, email, password, summary: summary || undefined } });
        p = d.signUp;
        if (!p.token && p.confirmationSentTo) {
          // The site opens when its admin follows the emailed link.
          setSentTo(p.confirmationSentTo);
          return;
        }
      } else {
        const d = await app.client.request<{ login: Payload }>(Q.LOGIN, { site, email, password });
        p = d.login;
      }
      if (!p.token && p.secondFactor) {
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

  const signup = mode === "signup";
  if (challenge) return <SecondFactorStep challenge={challenge} onSignedIn={done} onCancel={() => { setChallenge(null); setPassword(""); }} />;
  if (sentTo)
    return (
      <div class="auth">
        <div class="auth-card" role="status">
          <div class="auth-brand">
            <span class="brand-mark" aria-hidden="true" /> Bergamot
          </div>
          <h1>Check your email</h1>
          <p>
            We sent a link to <strong>{sentTo}</strong>. Open it within 24 hours and enter your password to confirm the address: the site <strong>{site}</strong> opens then.
          </p>
          <p class="auth-switch">
            <a href="#/signin">Back to sign in</a>
          </p>
        </div>
      </div>
    );
  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <div class="auth-brand">
          <span class="brand-mark" aria-hidden="true" /> Bergamot
        </div>
        <h1 id="auth-title">{signup ? "Create your site" : "Sign in"}</h1>
        <p class="muted">{signup ? "A site holds your checks, teams and settings. You will be its admin." : "Monitoring for your site, live."}</p>
        <label>
          Site
          <input name="site" value={site} onInput={(e) => setSite(e.currentTarget.value)} required autoComplete="organization" placeholder="acme" pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" title="Letters, digits, dot, dash and underscore" />
        </label>
        {signup && (
          <label>
            <span>
              Description <span class="muted">(optional)</span>
            </span>
            <input name="summary" value={summary} onInput={(e) => setSummary(e.currentTarget.value)} placeholder="ACME production" />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required autoComplete="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required minLength={signup ? 8 : 1} autoComplete={signup ? "new-password" : "current-password"} />
        </label>
        {error && (
          <div class="errorbox" role="alert">
            {error}
          </div>
        )}
        <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? "Please wait…" : signup ? "Create site" : "Sign in"}
        </button>
        <p class="auth-switch">
          {signup ? (
            <>
              Already have a site? <a href="#/signin">Sign in</a>
            </>
          ) : (
            <>
              New to Bergamot? <a href="#/signup">Create a site</a> · <a href="#/forgot-password">Forgot your password?</a>
            </>
          )}
        </p>
      </form>
    </div>
  );
}
