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
export type ChangesPage = components["schemas"]["ChangesPage"];
export type Priority = Task["priority"];
export type TagCount = components["schemas"]["TagCount"];
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

/** Creates a task exactly once, even when the network fails and the call is retried: every attempt sends the same
 * Idempotency-Key, so an attempt whose answer was lost is answered again (`Idempotent-Replayed: true`) instead of
 * creating a second task. Keep the key with the unsent task to retry after a reload, too. */
export async function createTask(
  client: TodoClient,
  task: NewTask,
  { idempotencyKey = crypto.randomUUID() as string, attempts = 3 } = {},
): Promise<Task> {
  const header = { "Idempotency-Key": idempotencyKey };
  return withRetries(attempts, async () => {
    const { data, error, response } = await client.POST("/api/tasks", { body: task, params: { header } });
    if (data === undefined) throw new ApiError(response.status, error);
    return data;
  });
}

/** Runs `call` until it succeeds, at most `attempts` times, again only after a network failure, a 5xx, or a 409 (an
 * attempt whose answer was lost is still running: the retry gets its answer once it is done). */
async function withRetries<T>(attempts: number, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = !(error instanceof ApiError) || error.status >= 500 || error.status === 409;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

export type TaskChanges = components["schemas"]["PatchedTaskRequest"];

/** Another tab or device changed the task since `base` was read: `current` is what it is now (or undefined when it
 * was deleted). Show it, let the user decide, and save again from it. */
export class EditConflict extends Error {
  constructor(readonly current: Task | undefined) {
    super("The task was changed elsewhere since it was read.");
  }
}

/** Saves `changes` only if the task is still the version `base` was read at (`If-Match: "<version>"`): a 412 means
 * someone else saved in between, and their change is not overwritten; the task is read again for the caller. */
export async function editTask(client: TodoClient, base: Task, changes: TaskChanges): Promise<Task> {
  const { data, error, response } = await client.PATCH("/api/tasks/{id}", {
    params: { path: { id: base.id }, header: { "If-Match": `"${base.version}"` } },
    body: changes,
  });
  if (data !== undefined) return data;
  if (response.status === 412) {
    const current = await client.GET("/api/tasks/{id}", { params: { path: { id: base.id } } });
    throw new EditConflict(current.data);
  }
  throw new ApiError(response.status, error);
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

/** A local copy of the user's tasks and the feed cursor it is current to. */
export interface TaskStore {
  tasks: ReadonlyMap<string, Task>;
  cursor?: string;
}

/** Brings a store up to date from the changes feed: all tasks when it has no cursor, else every task created or
 * changed since (replacing the copy) and every task deleted since (removing it). A 410 (the cursor is older than
 * the deletions the API keeps) starts over from nothing, since deletions may have been missed. */
export async function syncTasks(client: TodoClient, store: TaskStore): Promise<TaskStore> {
  const tasks = new Map(store.tasks);
  let cursor = store.cursor;
  for (;;) {
    const query = cursor === undefined ? {} : { since: cursor };
    const { data, error, response } = await client.GET("/api/tasks/changes", { params: { query } });
    if (response.status === 410 && cursor !== undefined) return syncTasks(client, { tasks: new Map() });
    if (data === undefined) throw new ApiError(response.status, error);
    for (const task of data.changes) tasks.set(task.id, task);
    for (const gone of data.deleted) tasks.delete(gone.id);
    cursor = data.cursor;
    if (!data.has_more) return { tasks, cursor };
  }
}

/** The user's tags, each with the number of their tasks that carry it, most used first. */
export async function listTags(client: TodoClient): Promise<TagCount[]> {
  const { data, error, response } = await client.GET("/api/tags");
  if (data === undefined) throw new ApiError(response.status, error);
  return data.results;
}
