// Lists, creates, toggles and deletes a task with the typed client, and prints what it saw as JSON:
//   API_URL=http://127.0.0.1:8000 TOKEN=$(../.venv/bin/python ../manage.py mint_token alice) node build/demo.js
// With STALE_TOKEN (say, an expired one), each call is sent with it first: the client must recover by itself.
import {
  createTodoClient,
  createTask,
  deleteTask,
  downloadExport,
  exportTasks,
  listTasks,
  syncTasks,
  toggleTask,
} from "./todo-client.js";

const token = process.env.TOKEN ?? "";
const stale = process.env.STALE_TOKEN;
const api = createTodoClient(process.env.API_URL ?? "http://127.0.0.1:8000", {
  get: async ({ fresh = false } = {}) => (stale && !fresh ? stale : token),
});

const key = "demo-create-1";
const created = await createTask(api, { title: "Buy milk", description: "2 litres, oat" }, { idempotencyKey: key });
const retried = await createTask(api, { title: "Buy milk", description: "2 litres, oat" }, { idempotencyKey: key });
const listed = await listTasks(api, { completed: false, ordering: "-created_at" });
const synced = await syncTasks(api, { tasks: new Map() });
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
    listedCount: listed.count,
    toggled,
    exported,
    downloaded,
    synced: [...synced.tasks.keys()],
    syncedAfterToggle: afterToggle.tasks.get(created.id)?.completed,
    syncedAfterDelete: [...afterDelete.tasks.keys()],
    countAfterDelete: after.count,
  }),
);
