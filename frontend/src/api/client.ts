// GraphQL over HTTP: POST /graphql with the bearer token from localStorage.

const TOKEN_KEY = "bergamot.token";

/** One error from the server, with its extensions.code. */
export interface GraphQLErrorItem {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}

/** ApiError is thrown for GraphQL errors, HTTP errors and network failures. */
export class ApiError extends Error {
  /** code is extensions.code of the first error, or NETWORK / HTTP_<n>. */
  readonly code: string;
  readonly errors: GraphQLErrorItem[];
  constructor(message: string, code: string, errors: GraphQLErrorItem[] = []) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.errors = errors;
  }
}

/** TokenStore keeps the session token; swapped for a memory store in tests. */
export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

export const localTokenStore: TokenStore = {
  get() {
    try {
      return localStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage disabled: the HttpOnly cookie still works */
    }
  },
};

export interface ClientOptions {
  endpoint?: string;
  tokens?: TokenStore;
  fetch?: typeof fetch;
  /** Called once per request that fails with UNAUTHENTICATED. */
  onUnauthenticated?: () => void;
}

/** GraphQLClient sends queries and mutations. */
export class GraphQLClient {
  readonly endpoint: string;
  readonly tokens: TokenStore;
  private readonly fetchFn: typeof fetch;
  onUnauthenticated?: () => void;

  constructor(opts: ClientOptions = {}) {
    this.endpoint = opts.endpoint ?? "/graphql";
    this.tokens = opts.tokens ?? localTokenStore;
    this.fetchFn = opts.fetch ?? ((...a) => fetch(...a));
    this.onUnauthenticated = opts.onUnauthenticated;
  }

  /** request runs one operation and returns its data, or throws ApiError. */
  async request<T = any>(query: string, variables?: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
    const token = this.tokens.get();
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.fetchFn(this.endpoint, {
        method: "POST",
        headers,
        credentials: "same-origin",
        body: JSON.stringify({ query, variables: variables ?? {} }),
        signal,
      });
    } catch (e) {
      if ((e as Error)?.name === "AbortError") throw e;
      throw new ApiError("Cannot reach the Bergamot server", "NETWORK");
    }
    let body: { data?: T; errors?: GraphQLErrorItem[] } | null = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    const errors = body?.errors ?? [];
    if (errors.length > 0) {
      const code = errors[0].extensions?.code ?? "INTERNAL";
      if (errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
        this.onUnauthenticated?.();
        throw new ApiError(errors[0].message, "UNAUTHENTICATED", errors);
      }
      throw new ApiError(errors.map((e) => e.message).join("; "), code, errors);
    }
    if (res.status === 401) {
      this.onUnauthenticated?.();
      throw new ApiError("Please sign in", "UNAUTHENTICATED");
    }
    if (!res.ok || !body || body.data === undefined) {
      throw new ApiError(`Server answered HTTP ${res.status}`, `HTTP_${res.status}`);
    }
    return body.data as T;
  }
}
