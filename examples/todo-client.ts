// A typed client for the todo API. The types are generated from the API's OpenAPI document
// (`npm run generate`, i.e. openapi-typescript ../openapi.yaml -o generated/api.d.ts); the calls go through
// openapi-fetch, so a path, parameter or field the API does not have is a compile error.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api";

export type Task = components["schemas"]["Task"];
export type NewTask = components["schemas"]["TaskRequest"];
export type TaskPage = components["schemas"]["PaginatedTaskList"];
export type AccountExport = components["schemas"]["AccountExport"];
export type ListQuery = NonNullable<paths["/api/tasks"]["get"]["parameters"]["query"]>;
type ErrorBody =
  | components["schemas"]["Error"]
  | components["schemas"]["AuthenticationError"]
  | components["schemas"]["ValidationError"];

/** Where the client gets its Better Auth JWT: `fresh` asks for a new one even if a cached one looks valid. */
export interface TokenSource {
  get(options?: { fresh?: boolean }): Promise<string>;
}

/** An answer other than 2xx, with the API's `detail` (and `code` on a 401, `errors` on a 422). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
  ) {
    super(body?.detail ?? `HTTP ${status}`);
  }
}

export type TodoClient = ReturnType<typeof createTodoClient>;

export function createTodoClient(baseUrl: string, tokens: TokenSource) {
  return createClient<paths>({ baseUrl, fetch: (request) => fetchWithToken(request, tokens) });
}

/** Sends the JWT. A 401 `token_expired` (or `token_invalid`: Better Auth may have replaced its signing key since
 * the cached token was minted) gets one fresh token and one retry; `not_authenticated` means: sign in. */
async function fetchWithToken(request: Request, tokens: TokenSource): Promise<Response> {
  const retry = request.clone();
  request.headers.set("Authorization", `Bearer ${await tokens.get()}`);
  const response = await fetch(request);
  const code = response.status === 401 ? await errorCode(response) : undefined;
  if (code !== "token_expired" && code !== "token_invalid") {
    return response;
  }
  retry.headers.set("Authorization", `Bearer ${await tokens.get({ fresh: true })}`);
  return fetch(retry);
}

async function errorCode(response: Response): Promise<string | undefined> {
  const body: unknown = await response.clone().json().catch(() => undefined);
  return typeof body === "object" && body !== null && "code" in body ? String(body.code) : undefined;
}

export async function listTasks(client: TodoClient, query: ListQuery = {}): Promise<TaskPage> {
  const { data, error, response } = await client.GET("/api/tasks", { params: { query } });
  if (data === undefined) throw new ApiError(response.status, error);
  return data;
}

export async function createTask(client: TodoClient, task: NewTask): Promise<Task> {
  const { data, error, response } = await client.POST("/api/tasks", { body: task });
  if (data === undefined) throw new ApiError(response.status, error);
  return data;
}

/** Flips `completed`; the API does it atomically, so two tabs toggling at once cannot lose an update. */
export async function toggleTask(client: TodoClient, id: string): Promise<Task> {
  const { data, error, response } = await client.PATCH("/api/tasks/{id}/complete", { params: { path: { id } } });
  if (data === undefined) throw new ApiError(response.status, error);
  return data;
}

export async function deleteTask(client: TodoClient, id: string): Promise<void> {
  const { error, response } = await client.DELETE("/api/tasks/{id}", { params: { path: { id } } });
  if (!response.ok) throw new ApiError(response.status, error);
}

/** Every task of the user in one document (GET /api/account/export; the API streams it, however many there are). */
export async function exportTasks(client: TodoClient): Promise<AccountExport> {
  const { data, error, response } = await client.GET("/api/account/export");
  if (data === undefined) throw new ApiError(response.status, error);
  return data;
}

/** The same document as a file for the user to keep: a Blob, unparsed (it may hold 100,000 tasks). */
export async function downloadExport(client: TodoClient): Promise<Blob> {
  const { data, error, response } = await client.GET("/api/account/export", { parseAs: "blob" });
  if (data === undefined) throw new ApiError(response.status, error);
  return data;
}
