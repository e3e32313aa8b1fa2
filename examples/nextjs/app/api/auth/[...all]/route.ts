// Better Auth's routes (sign-in, /api/auth/token, /api/auth/jwks, ...) under the Next.js app.
import { toNextJsHandler } from "better-auth/next-js";
import { auth } from "@/lib/auth";

export const { GET, POST } = toNextJsHandler(auth);
