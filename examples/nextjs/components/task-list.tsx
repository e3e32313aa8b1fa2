"use client";
// A client component: the signed-in user's tasks, kept current by the changes feed (useTasks); adds, toggles and
// deletes them. A create is sent with an Idempotency-Key, so a retry after a network failure cannot add it twice.
import { useTasks } from "@/lib/use-tasks";
import { api } from "@/lib/api";
import { createTask, deleteTask, toggleTask } from "@/lib/todo-client";

export function TaskList() {
  const { tasks, error, apply } = useTasks();

  async function add(form: FormData) {
    apply(await createTask(api, { title: String(form.get("title")) }));
  }

  async function toggle(id: string) {
    apply(await toggleTask(api, id));
  }

  async function remove(id: string) {
    await deleteTask(api, id);
    apply({ id, deleted: true });
  }

  return (
    <section>
      {error && <p role="alert">{error}</p>}
      <form action={add}>
        <input name="title" required maxLength={100} />
        <button type="submit">Add</button>
      </form>
      <ul>
        {tasks.map((task) => (
          <li key={task.id}>
            <input type="checkbox" checked={task.completed} onChange={() => toggle(task.id)} />
            {task.title}
            <button onClick={() => remove(task.id)}>Delete</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
