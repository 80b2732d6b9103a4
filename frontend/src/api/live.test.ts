// @vitest-environment node
// The live socket against a real graphql-transport-ws server on loopback.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { Live, wsURL, type ConnState } from "./live";

interface Fake {
  url: string;
  inits: any[];
  subscribes: any[];
  sockets: Set<WebSocket>;
  close(): Promise<void>;
}

async function startServer(): Promise<Fake> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: "/graphql", handleProtocols: (p) => (p.has("graphql-transport-ws") ? "graphql-transport-ws" : false) });
  const f: Fake = { url: "", inits: [], subscribes: [], sockets: new Set(), close: async () => {} };
  wss.on("connection", (ws) => {
    f.sockets.add(ws);
    ws.on("close", () => f.sockets.delete(ws));
    ws.on("message", (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === "connection_init") {
        f.inits.push(m.payload);
        if (m.payload?.authorization !== "Bearer good") ws.close(4403, "Forbidden");
        else ws.send(JSON.stringify({ type: "connection_ack" }));
      } else if (m.type === "subscribe") {
        f.subscribes.push(m);
        ws.send(JSON.stringify({ id: m.id, type: "next", payload: { data: { checkUpdated: { n: f.subscribes.length } } } }));
      } else if (m.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  f.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  f.close = () => new Promise<void>((ok) => {
    for (const s of f.sockets) s.terminate();
    wss.close();
    server.close(() => ok());
  });
  return f;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
};

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe("Live", () => {
  it("derives the socket URL from the page", () => {
    expect(wsURL({ protocol: "https:", host: "mon.example:8443" })).toBe("wss://mon.example:8443/graphql");
    expect(wsURL({ protocol: "http:", host: "localhost:8080" })).toBe("ws://localhost:8080/graphql");
  });

  it("authenticates in connection_init, delivers data, shows live, and resyncs after a drop", async () => {
    const srv = await startServer();
    cleanup.push(srv.close);
    const states: ConnState[] = [];
    let resyncs = 0;
    const got: any[] = [];
    const live = new Live({ url: srv.url, webSocketImpl: WebSocket, tokens: { get: () => "good", set: () => {} }, onState: (s) => states.push(s), onResync: () => resyncs++ });
    cleanup.push(() => live.dispose());
    live.subscribe("subscription { checkUpdated { check { id } } }", {}, (d) => got.push(d));

    await until(() => got.length === 1);
    expect(srv.inits[0]).toEqual({ authorization: "Bearer good" });
    expect(live.connState).toBe("live");
    expect(resyncs).toBe(0);

    // The server drops every socket: the client reconnects, re-subscribes and asks for a resync.
    for (const s of srv.sockets) s.terminate();
    await until(() => states.includes("reconnecting"));
    await until(() => got.length === 2 && resyncs === 1);
    expect(live.connState).toBe("live");
    expect(srv.subscribes).toHaveLength(2);
  });

  it("re-subscribes the site-wide and a page's subscription, each with its filter, after a drop", async () => {
    const srv = await startServer();
    cleanup.push(srv.close);
    let resyncs = 0;
    const got: string[] = [];
    const live = new Live({ url: srv.url, webSocketImpl: WebSocket, tokens: { get: () => "good", set: () => {} }, onState: () => {}, onResync: () => resyncs++ });
    cleanup.push(() => live.dispose());
    const q = "subscription($filter: CheckFilter) { checkUpdated(filter: $filter) { check { id } } }";
    live.subscribe(q, { filter: { changed: true } }, () => got.push("global"));
    const stop = live.subscribe(q, { filter: { ids: ["a", "b"] } }, () => got.push("page"));
    await until(() => got.length === 2);
    const filters = () => srv.subscribes.map((m) => JSON.stringify(m.payload.variables.filter));
    expect(filters().sort()).toEqual(['{"changed":true}', '{"ids":["a","b"]}']);

    for (const s of srv.sockets) s.terminate();
    await until(() => srv.subscribes.length === 4 && resyncs === 1);
    expect(filters().slice(2).sort()).toEqual(['{"changed":true}', '{"ids":["a","b"]}']);
    await until(() => got.filter((g) => g === "page").length === 2);

    // A page that is left is not re-subscribed after the next drop.
    stop();
    for (const s of srv.sockets) s.terminate();
    await until(() => srv.subscribes.length === 5 && resyncs === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(filters().slice(4)).toEqual(['{"changed":true}']);
  });

  it("reports a rejected token", async () => {
    const srv = await startServer();
    cleanup.push(srv.close);
    let unauth = 0;
    const live = new Live({ url: srv.url, webSocketImpl: WebSocket, tokens: { get: () => "stale", set: () => {} }, onState: () => {}, onResync: () => {}, onUnauthenticated: () => unauth++ });
    cleanup.push(() => live.dispose());
    live.subscribe("subscription { notifications { type } }", undefined, () => {});
    await until(() => unauth > 0);
    expect(live.connState).not.toBe("live");
  });
});
