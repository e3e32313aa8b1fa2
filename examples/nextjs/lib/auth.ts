// Better Auth on the Next.js server, with the jwt plugin whose tokens the todo API verifies.
// BETTER_AUTH_URL and BETTER_AUTH_SECRET come from the environment (Better Auth reads both itself).
import { betterAuth } from "better-auth";
import { APIError } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins";
import { Pool } from "pg";

export const auth = betterAuth({
  database: new Pool({ connectionString: process.env.DATABASE_URL }),
  emailAndPassword: { enabled: true },
  user: {
    deleteUser: {
      enabled: true, // authClient.deleteUser()
      // Runs while the session still exists: the todo API erases the user's tasks first, with a JWT minted right
      // now (it takes only one issued in the last 5 minutes). If it fails, Better Auth keeps the account.
      beforeDelete: async (user, request) => {
        const { token } = await auth.api.getToken({ headers: request?.headers ?? new Headers() });
        const response = await fetch(`${process.env.API_URL ?? "http://127.0.0.1:8000"}/api/account`, {
          method: "DELETE",
          headers: { Authorization: `Bearer ${token}` },
        });
        if (!response.ok) {
          throw new APIError("BAD_GATEWAY", {
            message: `The todo API did not erase the data of ${user.id} (HTTP ${response.status}); try again.`,
          });
        }
      },
    },
  },
  plugins: [
    jwt({
      jwks: {
        // EdDSA (Ed25519) is the default; ES256, ES512, RS256 and PS256 work with the API too.
        keyPairConfig: { alg: "EdDSA" },
        // A new signing key every 30 days; retired keys stay published for gracePeriod (default 30 days).
        rotationInterval: 60 * 60 * 24 * 30,
      },
      // iss and aud default to BETTER_AUTH_URL: set the API's BETTER_AUTH_ISSUER/AUDIENCE to the same value.
      jwt: { expirationTime: "15m" },
    }),
    nextCookies(), // last: lets Server Actions set the session cookie
  ],
});
