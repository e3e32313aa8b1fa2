// The todo API from client components: the JWT comes from authClient.token(), cached until shortly before exp.
import { createTodoClient } from "@/lib/todo-client";
import { createTokenCache } from "@/lib/token-cache";
import { authClient } from "./auth-client";

export class NotSignedIn extends Error {}

const tokens = createTokenCache(async () => {
  const { data, error } = await authClient.token();
  if (error) throw new NotSignedIn(error.message ?? `Better Auth answered ${error.status}`);
  return data.token;
});

export const api = createTodoClient(process.env.NEXT_PUBLIC_API_URL ?? "http://127.0.0.1:8000", tokens);
