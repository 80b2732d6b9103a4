// Root component: routes between pages and guards signed-in pages.
import { useEffect } from "preact/hooks";
import { Layout } from "./components/layout";
import { AgentsPage } from "./pages/agents";
import { AlertsPage } from "./pages/alerts";
import { AuthPage } from "./pages/auth";
import { CheckPage } from "./pages/check";
import { LINK_PAGES, LinkPage } from "./pages/links";
import { ChecksPage } from "./pages/checks";
import { ConfigPage } from "./pages/config";
import { OverviewPage } from "./pages/overview";
import { AccountPage, ForcedPasswordChange } from "./pages/account";
import { AuditPage } from "./pages/audit";
import { EnrolRequired, SecurityPage } from "./pages/security";
import { SettingsPage } from "./pages/settings";
import { SLAsPage } from "./pages/slas";
import { MetricsExportsPage } from "./pages/exports";
import { StatusPagesPage } from "./pages/statuspages";
import { TeamsPage } from "./pages/teams";
import { TreePage } from "./pages/tree";
import { WorkersPage } from "./pages/workers";
import { navigate, parseHash, useRoute, type Route } from "./router";
import { AppContext, type App } from "./store/app";
import { useStore } from "./store/store";

function Page({ route }: { route: Route }) {
  const [first, second] = route.parts;
  switch (first) {
    case undefined:
      return <OverviewPage />;
    case "checks":
      return <ChecksPage route={route} />;
    case "check":
      return <CheckPage key={second} id={second ?? ""} />;
    case "alerts":
      return <AlertsPage />;
    case "groups":
      return <TreePage key="g" kind="groups" />;
    case "locations":
      return <TreePage key="l" kind="locations" />;
    case "config":
      return <ConfigPage />;
    case "workers":
      return <WorkersPage />;
    case "slas":
      return <SLAsPage />;
    case "metrics-exports":
      return <MetricsExportsPage />;
    case "status-pages":
      return <StatusPagesPage />;
    case "agents":
      return <AgentsPage />;
    case "teams":
      return <TeamsPage />;
    case "settings":
      return <SettingsPage />;
    case "account":
      return <AccountPage />;
    case "audit":
      return <AuditPage />;
    case "security":
      return <SecurityPage />;
    default:
      return (
        <div class="page empty">
          Page not found. <a href="#/">Go to the overview</a>.
        </div>
      );
  }
}

const TITLES: Record<string, string> = {
  checks: "Hosts & services", check: "Check", alerts: "Alerts", groups: "Groups", locations: "Locations",
  config: "Configuration", workers: "Workers", slas: "SLAs", "metrics-exports": "Metrics export", "status-pages": "Status pages", agents: "Host agents", teams: "Teams", settings: "Settings", account: "Your account", security: "Account security", audit: "Audit log", signin: "Sign in", signup: "Sign up",
  verify: "Confirm your email", "accept-invite": "Accept invitation", "reset-password": "New password", "forgot-password": "Forgot password",
};

export function Root({ app }: { app: App }) {
  return (
    <AppContext.Provider value={app}>
      <Shell app={app} />
    </AppContext.Provider>
  );
}

function Shell({ app }: { app: App }) {
  const route = useRoute();
  const auth = useStore(app.auth, (a) => a.status);
  const problems = useStore(app.state, (s) => s.problems.size);
  const publicPage = route.parts[0] === "signin" || route.parts[0] === "signup";
  // Link pages work signed in or not (a link may be for another account).
  const linkPage = LINK_PAGES.includes(route.parts[0] ?? "");

  useEffect(() => {
    if (auth === "signedOut" && !publicPage && !linkPage) navigate("#/signin", true);
    const nowPublic = ["signin", "signup"].includes(parseHash(location.hash).parts[0] ?? "");
    if (auth === "signedIn" && nowPublic) navigate("#/", true);
  }, [auth, publicPage, linkPage]);

  useEffect(() => {
    const t = TITLES[route.parts[0] ?? ""] ?? "Overview";
    document.title = `${problems > 0 ? `(${problems}) ` : ""}${t} · Bergamot`;
  }, [route.path, problems]);

  if (auth === "unknown") return <div class="boot" aria-busy="true">Connecting to Bergamot…</div>;
  if (linkPage) return <LinkPage route={route} />;
  if (publicPage || auth !== "signedIn") return <AuthPage mode={route.parts[0] === "signup" ? "signup" : "signin"} />;
  return (
    <Layout path={route.path}>
      <ForcedPasswordChange>
        <EnrolRequired>
          <Page route={route} />
        </EnrolRequired>
      </ForcedPasswordChange>
    </Layout>
  );
}
