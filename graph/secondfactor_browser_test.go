package graph_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Issue 22 item 4 end to end, through the dashboard in Chromium: an
// administrator registers a passkey (DevTools' virtual authenticator) and
// an authenticator app (codes computed here) on the Account security page;
// signing in then asks for the second factor, and the passkey and a TOTP
// code each finish it. The audit log has the enrolments and sign-ins.
func TestSecondFactorsInChromium(t *testing.T) {
	e := apitest.Start(t, apitest.Options{Dashboard: true})
	site := e.SignUp(t, "alpha")
	// WebAuthn needs a secure context and a domain as relying party id:
	// http://localhost is both.
	base := strings.Replace(e.URL, "127.0.0.1", "localhost", 1)
	ctx := slowBrowser(t)
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	added, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportUsb,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	waitText := func(sel, text string) {
		t.Helper()
		js := `(() => { const el = document.querySelector(` + jsString(sel) + `); return el && el.textContent.includes(` + jsString(text) + `) ? el.textContent : null; })()`
		if _, err := chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			toasts, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".toasts") || {}).textContent || ""`))
			t.Logf("toasts: %s", toasts)
			body, _ := chromedp.Run(ctx, chromedp.Text("body"))
			if len(body) > 800 {
				body = body[len(body)-800:]
			}
			t.Fatalf("waiting for %q in %s: %v; the page ends: %s", text, sel, err, strings.Join(strings.Fields(body), " "))
		}
	}
	signIn := func() {
		t.Helper()
		// A new visitor: no session cookie, no stored token.
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/#/signin"),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`localStorage.clear(), true`))
				return err
			}),
			chromedp.Reload(),
			chromedp.WaitVisible(`input[name="password"]`),
			chromedp.SendKeys(`input[name="site"]`, site.Name),
			chromedp.SendKeys(`input[name="email"]`, site.Email),
			chromedp.SendKeys(`input[name="password"]`, site.Password),
			jsClick(`form button[type="submit"]`),
		)
		if err != nil {
			t.Fatal(err)
		}
	}

	// Enrol: password sign-in (no factor yet), then the security page.
	signIn()
	waitText("nav", "Account security")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#/security")); err != nil {
		t.Fatal(err)
	}
	waitText("h1", "Account security")
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(`input[name="passkey-name"]`),
		chromedp.SendKeys(`input[name="passkey-name"]`, "Virtual key"),
		chromedp.Click(`button[data-action="add-passkey"]`))
	if err != nil {
		t.Fatal(err)
	}
	waitText(".recovery-codes", "-")
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".recovery-codes li")).map((li) => li.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != tenants.RecoveryCodeCount {
		t.Fatalf("recovery codes shown: %v", codes)
	}
	waitText(`[data-factor="WEBAUTHN"]`, "Virtual key")
	held, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams(added))
	if err != nil || len(held.Credentials) != 1 || held.Credentials[0].RpID != "localhost" {
		t.Fatalf("the virtual authenticator holds %d credentials (%v); want one for localhost", len(held.Credentials), err)
	}

	// The authenticator app: read the key off the page, compute the code.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="totp-name"]`, "Phone"),
		jsClick(`button[data-action="begin-totp"]`))
	if err != nil {
		t.Fatal(err)
	}
	waitText(`[data-totp-secret]`, "")
	secret, err := chromedp.Run(ctx, chromedp.Text(`[data-totp-secret]`))
	if err != nil {
		t.Fatal(err)
	}
	qr, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const i = document.querySelector("img.qr"); return !!i && i.complete && i.naturalWidth > 100; })()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !qr {
		t.Fatalf("the QR code image did not load: %v", err)
	}
	code, err := tenants.TOTPCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	typeIn := `(() => { const i = document.querySelector('input[name="totp-code"]'); i.focus(); i.value = ` + jsString(code) + `;
		i.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](typeIn))
		return err
	}), jsClick(`button[data-action="confirm-totp"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(`[data-factor="TOTP"]`, "Phone")

	// Sign in with the passkey.
	signIn()
	waitText("h1", "Second factor")
	if err := chromedp.Do(ctx, chromedp.Click(`button[data-action="second-factor"]`)); err != nil {
		t.Fatal(err)
	}
	waitText("nav", "Account security")

	// Sign in with a code of the next time step (the current one went to
	// the enrolment and is not accepted twice).
	signIn()
	waitText("h1", "Second factor")
	code, _ = tenants.TOTPCode(strings.TrimSpace(secret), time.Now().Add(30*time.Second))
	err = chromedp.Do(ctx,
		jsClick(`button[data-method="TOTP"]`),
		chromedp.WaitVisible(`input[name="code"]`),
		chromedp.SendKeys(`input[name="code"]`, code),
		jsClick(`button[data-action="second-factor"]`))
	if err != nil {
		t.Fatal(err)
	}
	waitText("nav", "Account security")

	// The audit log has both enrolments and both second steps.
	var out struct {
		AuditLog struct {
			Nodes []struct{ Action, Outcome, Detail string }
		}
	}
	e.MustDo(t, site.Token, `{ auditLog(first: 100) { nodes { action outcome detail } } }`, nil, &out)
	seen := map[string]int{}
	for _, n := range out.AuditLog.Nodes {
		if n.Outcome != "ok" {
			continue
		}
		key := n.Action
		if n.Action == "signInSecondFactor" {
			var d struct{ Method string }
			_ = json.Unmarshal([]byte(n.Detail), &d)
			key += ":" + d.Method
		}
		seen[key]++
	}
	for _, want := range []string{"finishPasskeyRegistration", "confirmTotpEnrolment", "signInSecondFactor:webauthn", "signInSecondFactor:totp"} {
		if seen[want] != 1 {
			t.Errorf("audit log: %d ok %s entries, want 1 (all: %v)", seen[want], want, seen)
		}
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// slowBrowser is browser with room for a dozen page loads on a busy
// machine (the whole flow takes about a minute alone, three at load 30).
func slowBrowser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-background-networking", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// jsClick clicks the element sel from the page's script (not at screen
// coordinates, where a toast may cover it).
func jsClick(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelector(`+jsString(sel)+`).click(); return true; })()`))
		return err
	})
}
