// Live updates over WebSocket (graphql-transport-ws via the graphql-ws client).
import { createClient, type Client } from "graphql-ws";
import type { TokenStore } from "./client";

/** ConnState is what the header shows: live, or why not. */
export type ConnState = "connecting" | "live" | "reconnecting" | "offline";

export interface LiveOptions {
  url?: string;
  tokens: TokenStore;
  /** Called on every connection state change. */
  onState: (s: ConnState) => void;
  /** Called after a reconnect: state may have been missed, refetch. */
  onResync: () => void;
  /** Called when the server rejects the token. */
  onUnauthenticated?: () => void;
  /** For tests: a WebSocket implementation. */
  webSocketImpl?: unknown;
}

/** wsURL derives ws(s)://host/graphql from the page location. */
export function wsURL(loc: { protocol: string; host: string } = location, path = "/graphql"): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}${path}`;
}

/** Live owns the subscription socket and reports its state. */
export class Live {
  readonly client: Client;
  private everConnected = false;
  private state: ConnState = "connecting";

  constructor(private readonly opts: LiveOptions) {
    this.client = createClient({
      url: opts.url ?? wsURL(),
      webSocketImpl: opts.webSocketImpl,
      lazy: false,
      keepAlive: 15_000,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      retryWait: async (retries) => {
        // 0.5 s, 1 s, 2 s … capped at 10 s, with jitter.
        const base = Math.min(10_000, 500 * 2 ** retries);
        await new Promise((r) => setTimeout(r, base / 2 + Math.random() * (base / 2)));
      },
      connectionParams: () => {
        const t = opts.tokens.get();
        return t ? { authorization: `Bearer ${t}` } : {};
      },
      on: {
        connecting: () => this.set(this.everConnected ? "reconnecting" : "connecting"),
        connected: () => {
          const again = this.everConnected;
          this.everConnected = true;
          this.set("live");
          if (again) opts.onResync();
        },
        closed: (ev) => {
          const code = (ev as CloseEvent | undefined)?.code;
          if (code === 4401 || code === 4403) opts.onUnauthenticated?.();
          this.set(this.everConnected ? "reconnecting" : "connecting");
        },
        error: () => this.set(this.everConnected ? "reconnecting" : "offline"),
      },
    });
  }

  private set(s: ConnState) {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState(s);
  }

  get connState(): ConnState {
    return this.state;
  }

  /** subscribe runs a subscription until the returned function is called. */
  subscribe<T>(query: string, variables: Record<string, unknown> | undefined, next: (data: T) => void): () => void {
    return this.client.subscribe<T>(
      { query, variables },
      {
        next: (msg) => {
          if (msg.data) next(msg.data as T);
        },
        error: () => {
          /* the client retries the socket; per-operation errors are dropped */
        },
        complete: () => {},
      },
    );
  }

  dispose() {
    void this.client.dispose();
  }
}
