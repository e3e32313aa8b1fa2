// A real Better Auth server for the end-to-end tests, configured like a frontend's auth.ts.
//
// Environment:
//   PORT                      port on 127.0.0.1 (required; the base URL is http://127.0.0.1:PORT)
//   BETTER_AUTH_SECRET        Better Auth's secret (encrypts the private keys in the jwks table)
//   AUTH_DB_FILE              SQLite file; keys, users and sessions survive a restart
//   JWT_ALG                   EdDSA (default), ES256, ES512, RS256 or PS256
//   JWT_EXPIRATION            e.g. "15m" (Better Auth's default) or "3s"
//   JWKS_ROTATION_INTERVAL    seconds a key signs before Better Auth mints a new one (unset: never)
//
// Every request is logged to stdout as "<method> <path>", so a test can count JWKS fetches.
import { createServer } from "node:http";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error("PORT must be a port number");
const alg = process.env.JWT_ALG ?? "EdDSA";
const rotationInterval = process.env.JWKS_ROTATION_INTERVAL;

export const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new Database(process.env.AUTH_DB_FILE ?? "better-auth.sqlite3"),
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  plugins: [
    jwt({
      jwks: {
        keyPairConfig: { alg },
        ...(rotationInterval ? { rotationInterval: Number(rotationInterval) } : {}),
      },
      jwt: { expirationTime: process.env.JWT_EXPIRATION ?? "15m" },
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
const server = createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  handler(req, res);
});
server.listen(port, "127.0.0.1", () => {
  console.log(`Better Auth listening on http://127.0.0.1:${port}`);
});
