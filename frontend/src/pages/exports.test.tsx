// The metrics export page against an in-process GraphQL responder.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Root } from "../app";
import type { MetricsExport } from "../api/types";
import type { App } from "../store/app";
import { signedInApp, settle, waitFor } from "../store/testdata";
import { REFRESH_MS, exportState, retryLabel } from "./exports";

const now = Date.now();
const iso = (msAgo: number) => new Date(now - msAgo).toISOString();

const healthy: MetricsExport = {
  name: "grafana", protocol: "prometheus-remote-write", url: "https://prometheus.example/api/prom/push", auth: "basic", enabled: true, ownSeries: true,
  sent: 120345, dropped: 0, queued: 12, failures: 0, lastSuccessAt: iso(3000), lastError: "", lastErrorAt: null, nextAttemptAt: iso(3000),
};
const failing: MetricsExport = {
  name: "otel", protocol: "otlp", url: "https://otel.example/v1/metrics", auth: "bearer", enabled: true, ownSeries: false,
  sent: 500, dropped: 1500, queued: 100000, failures: 4, lastSuccessAt: iso(2 * 3600_000),
  lastError: "POST https://otel.example/v1/metrics: 503 Service Unavailable", lastErrorAt: iso(20_000), nextAttemptAt: iso(-8_000),
};


let root: HTMLElement;
beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  location.hash = "#/";
  vi.useRealTimers();
});

async function mount(app: App) {
  location.hash = "#/metrics-exports";
  await act(async () => {
    render(<Root app={app} />, root);
    await app.boot();
  });
  await settle();
}

describe("metrics export page", () => {
  it("shows each target's receiver, last success, last error, queued, dropped and sent", async () => {
    const { app } = signedInApp({ MetricsExports: () => ({ metricsExports: [healthy, failing] }) });
    await mount(app);
    await waitFor(() => root.querySelector('[data-export="otel"]') !== null);
    expect(root.querySelector(".page-head")?.textContent).toContain("2 targets, 1 failing");
    const g = root.querySelector('[data-export="grafana"]')!;
    expect(g.textContent).toContain("Prometheus remote write · basic auth");
    expect(g.textContent).not.toContain("perfdata only");
    expect(g.textContent).toContain("https://prometheus.example/api/prom/push");
    expect(g.querySelector(".chip")?.textContent).toBe("delivering");
    expect(g.textContent).toContain("just now");
    expect(g.querySelector(".export-error")?.textContent).toBe("none");
    expect(g.textContent).toContain("120,345");
    const o = root.querySelector('[data-export="otel"]')!;
    expect(o.querySelector(".chip")?.textContent).toBe("failing");
    expect(o.textContent).toContain("OTLP/HTTP · bearer auth · perfdata only");
    expect(o.textContent).toContain("4 failures in a row, retrying in");
    expect(o.textContent).toContain("2h ago");
    expect(o.querySelector(".export-error")?.textContent).toContain("503 Service Unavailable");
    expect(o.querySelector(".export-error")?.textContent).toContain("20s ago");
    expect(o.textContent).toContain("100,000");
    expect(o.querySelector(".export-dropped")?.textContent).toBe("1,500");
  });

  it("explains how to add a target when there is none", async () => {
    const { app } = signedInApp({ MetricsExports: () => ({ metricsExports: [] }) });
    await mount(app);
    await waitFor(() => root.querySelector(".panel.empty") !== null);
    expect(root.querySelector(".panel.empty")?.textContent).toContain('<metrics-export name="prom" protocol="prometheus-remote-write"');
  });

  it("asks again every ten seconds and shows the new figures", async () => {
    let queued = 5;
    const { app, calls } = signedInApp({ MetricsExports: () => ({ metricsExports: [{ ...healthy, queued }] }) });
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await mount(app);
    await waitFor(() => root.querySelector('[data-export="grafana"]') !== null);
    const before = calls.filter((c) => c === "MetricsExports").length;
    queued = 777;
    await act(async () => {
      vi.advanceTimersByTime(REFRESH_MS - 100);
    });
    await settle();
    expect(calls.filter((c) => c === "MetricsExports").length).toBe(before);
    await act(async () => {
      vi.advanceTimersByTime(200);
    });
    await waitFor(() => root.querySelector('[data-export="grafana"]')?.textContent?.includes("777") ?? false);
    expect(calls.filter((c) => c === "MetricsExports").length).toBe(before + 1);
  });

  it("names the state and the retry", () => {
    expect(exportState({ ...healthy, enabled: false }).label).toBe("disabled");
    expect(exportState({ ...healthy, lastSuccessAt: null, queued: 3 }).label).toBe("not delivered yet");
    expect(exportState({ ...healthy, lastSuccessAt: null, queued: 0 }).label).toBe("idle");
    expect(retryLabel({ failures: 1, nextAttemptAt: new Date(now - 1).toISOString() }, now)).toBe("1 failure in a row, retrying now");
    expect(retryLabel({ failures: 0, nextAttemptAt: iso(0) }, now)).toBe("");
  });
});
