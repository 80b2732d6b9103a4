// @vitest-environment node
// The GraphQL client against a real HTTP server on loopback.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, GraphQLClient, type TokenStore } from "./client";

let server: http.Server;
let url = "";
let lastAuth: string | undefined;
let lastBody: any;
let reply: (body: any) => { status?: number; json: unknown };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      lastAuth = req.headers.authorization;
      lastBody = JSON.parse(raw);
      const r = reply(lastBody);
      res.writeHead(r.status ?? 200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(r.json));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

function memTokens(t: string | null): TokenStore & { value: string | null } {
  const s = { value: t, get: () => s.value, set: (v: string | null) => void (s.value = v) };
  return s;
}

describe("GraphQLClient", () => {
  it("posts query and variables with the bearer token and returns data", async () => {
    reply = () => ({ json: { data: { site: { name: "acme" } } } });
    const c = new GraphQLClient({ endpoint: url, tokens: memTokens("tok123") });
    const d = await c.request<{ site: { name: string } }>("query Q($x: Int) { site { name } }", { x: 1 });
    expect(d.site.name).toBe("acme");
    expect(lastAuth).toBe("Bearer tok123");
    expect(lastBody).toEqual({ query: "query Q($x: Int) { site { name } }", variables: { x: 1 } });
  });

  it("sends no Authorization header without a token", async () => {
    reply = () => ({ json: { data: { ok: true } } });
    await new GraphQLClient({ endpoint: url, tokens: memTokens(null) }).request("{ ok }");
    expect(lastAuth).toBeUndefined();
  });

  it("turns GraphQL errors into ApiError with extensions.code", async () => {
    reply = () => ({ json: { data: null, errors: [{ message: "no such check", extensions: { code: "NOT_FOUND" } }] } });
    const err = await new GraphQLClient({ endpoint: url, tokens: memTokens("t") }).request("{ x }").catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("NOT_FOUND");
    expect(err.message).toBe("no such check");
  });

  it("calls onUnauthenticated for UNAUTHENTICATED errors and HTTP 401", async () => {
    let calls = 0;
    const c = new GraphQLClient({ endpoint: url, tokens: memTokens("old"), onUnauthenticated: () => calls++ });
    reply = () => ({ json: { errors: [{ message: "token expired", extensions: { code: "UNAUTHENTICATED" } }] } });
    await expect(c.request("{ me { id } }")).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    reply = () => ({ status: 401, json: {} });
    await expect(c.request("{ me { id } }")).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(calls).toBe(2);
  });

  it("reports HTTP errors without a GraphQL body", async () => {
    reply = () => ({ status: 502, json: "bad gateway" });
    await expect(new GraphQLClient({ endpoint: url, tokens: memTokens(null) }).request("{ x }")).rejects.toMatchObject({ code: "HTTP_502" });
  });

  it("reports an unreachable server as NETWORK", async () => {
    const dead = new GraphQLClient({ endpoint: "http://127.0.0.1:1/graphql", tokens: memTokens(null) });
    await expect(dead.request("{ x }")).rejects.toMatchObject({ code: "NETWORK" });
  });
});
