// Better Auth in the browser; jwtClient() adds authClient.token() (GET /api/auth/token with the session cookie).
import { jwtClient } from "better-auth/client/plugins";
import { createAuthClient } from "better-auth/react";

export const authClient = createAuthClient({ plugins: [jwtClient()] });
