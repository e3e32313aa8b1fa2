// A real Better Auth server for the end-to-end tests, configured as e2e/README.md tells a frontend to.
//
// Environment:
//   BETTER_AUTH_URL           http://127.0.0.1:PORT; Better Auth's base URL (and so iss and aud), and where to listen
//   BETTER_AUTH_SECRET        Better Auth's secret (it also encrypts the private keys in the jwks table)
//   AUTH_DB_FILE              SQLite file: keys, users and sessions survive a restart
//   JWT_ALG                   EdDSA (default), ES256, ES512, RS256 or PS256
//   JWT_EXPIRATION            e.g. "15m" (Better Auth's default) or "3s"
//   JWKS_ROTATION_INTERVAL    seconds a key signs before Better Auth mints a new one (unset: never)
//   API_URL                   the todo API, which erases a user's data before Better Auth deletes the user
//
// Every request is logged to stdout as "<method> <path>", so a test can count JWKS fetches.
import { createServer } from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { APIError } from "better-auth/api";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

const rotationInterval = Number(process.env.JWKS_ROTATION_INTERVAL) || undefined;

export const auth = betterAuth({
  database: new Database(process.env.AUTH_DB_FILE ?? "better-auth.sqlite3"),
  emailAndPassword: { enabled: true },
  // docs/nextjs.md's hook (examples/nextjs/lib/auth.ts), as JavaScript.
  user: {
    deleteUser: {
      enabled: true,
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
      jwks: { keyPairConfig: { alg: process.env.JWT_ALG ?? "EdDSA" }, rotationInterval },
      jwt: { expirationTime: process.env.JWT_EXPIRATION ?? "15m" },
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const { port } = new URL(process.env.BETTER_AUTH_URL);
const handler = toNodeHandler(auth);
createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  handler(req, res);
}).listen(Number(port), "127.0.0.1", () => {
  console.log(`Better Auth listening on ${process.env.BETTER_AUTH_URL}`);
});
