// Lists, creates, toggles and deletes a task with the typed client, and prints what it saw as JSON:
//   API_URL=http://127.0.0.1:8000 TOKEN=$(../.venv/bin/python ../manage.py mint_token alice) node build/demo.js
// With STALE_TOKEN (say, an expired one), each call is sent with it first: the client must recover by itself.
import {
  EditConflict,
  createTodoClient,
  createTask,
  deleteTask,
  downloadExport,
  editTask,
  exportTasks,
  listTags,
  listTasks,
  type NewTask,
  syncTasks,
  toggleTask,
} from "./todo-client.js";

const token = process.env.TOKEN ?? "";
const stale = process.env.STALE_TOKEN;
const api = createTodoClient(process.env.API_URL ?? "http://127.0.0.1:8000", {
  get: async ({ fresh = false } = {}) => (stale && !fresh ? stale : token),
});

// A due date is sent with its time zone: toISOString() writes UTC ending in Z.
const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000);
const draft: NewTask = {
  title: "Buy milk",
  description: "2 litres, oat",
  due_at: tomorrow.toISOString(),
  priority: "high",
  tags: ["Errands", "errands", "shop"],
};
// The same Idempotency-Key twice, as a retry after a timeout would send it: one task.
const key = "demo-create-1";
const created = await createTask(api, draft, { idempotencyKey: key });
const retried = await createTask(api, draft, { idempotencyKey: key });
const listed = await listTasks(api, { completed: false, ordering: "-created_at" });
const tagged = await listTasks(api, { tag: ["ERRANDS", "shop"], priority: "high,medium", ordering: "due_at" });
const tags = await listTags(api);
const synced = await syncTasks(api, { tasks: new Map() });
const edited = await editTask(api, created, { title: "Buy oat milk" });
// A second tab still holding the first version: refused with the current task, not saved over the first edit.
const conflict = await editTask(api, created, { title: "Buy soy milk" }).catch((e: unknown) => e);
const conflictCurrentTitle = conflict instanceof EditConflict ? conflict.current?.title : undefined;
const toggled = await toggleTask(api, created.id);
const exported = await exportTasks(api);
const downloaded: unknown = JSON.parse(await (await downloadExport(api)).text());
const afterToggle = await syncTasks(api, synced);
await deleteTask(api, created.id);
const afterDelete = await syncTasks(api, afterToggle);
const after = await listTasks(api);
console.log(
  JSON.stringify({
    created,
    retriedId: retried.id,
    editedVersion: edited.version,
    conflictCurrentTitle,
    listedCount: listed.count,
    taggedCount: tagged.count,
    tags,
    toggled,
    exported,
    downloaded,
    synced: [...synced.tasks.keys()],
    syncedAfterToggle: afterToggle.tasks.get(created.id)?.completed,
    syncedAfterDelete: [...afterDelete.tasks.keys()],
    countAfterDelete: after.count,
  }),
);
