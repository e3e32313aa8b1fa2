// Keeps a Better Auth JWT until shortly before its `exp`, so a page does not ask Better Auth for a token on
// every API call; concurrent callers share one request for a new token.
import type { TokenSource } from "./todo-client.js";

export function createTokenCache(fetchToken: () => Promise<string>, marginSeconds = 30): TokenSource {
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return {
    async get({ fresh = false } = {}) {
      if (!fresh && cached && Date.now() < cached.renewAt) return cached.token;
      pending ??= fetchToken()
        .then((token) => {
          cached = { token, renewAt: (expiresAt(token) - marginSeconds) * 1000 };
          return token;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
  };
}

/** The token's `exp` (seconds since the epoch); 0 when it has none, so that it is never reused. */
function expiresAt(token: string): number {
  const payload = token.split(".")[1] ?? "";
  const claims: unknown = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
  return typeof claims === "object" && claims !== null && "exp" in claims ? Number(claims.exp) : 0;
}
