// Better Auth on the Next.js server, with the jwt plugin whose tokens the todo API verifies.
// BETTER_AUTH_URL and BETTER_AUTH_SECRET come from the environment (Better Auth reads both itself).
import { betterAuth } from "better-auth";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins";
import { Pool } from "pg";

export const auth = betterAuth({
  database: new Pool({ connectionString: process.env.DATABASE_URL }),
  emailAndPassword: { enabled: true },
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
