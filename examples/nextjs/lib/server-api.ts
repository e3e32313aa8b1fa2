// The todo API from server code (Server Components, Route Handlers, Server Actions). Better Auth mints the JWT
// in-process from the session cookie in the request's headers: no HTTP round trip, and nothing to cache.
//   const api = await serverApi(await headers()); // headers from "next/headers"
import { createTodoClient } from "@/lib/todo-client";
import { auth } from "./auth";

export async function serverApi(requestHeaders: Headers) {
  // Throws Better Auth's APIError (status 401) when the request has no session.
  const { token } = await auth.api.getToken({ headers: requestHeaders });
  return createTodoClient(process.env.API_URL ?? "http://127.0.0.1:8000", { get: async () => token });
}
