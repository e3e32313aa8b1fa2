"use client";
// A client component: the open tasks with a tag, soonest due first (those without a due date last), overdue ones
// marked, and a form that adds a task with a due date, a priority and tags.
import { useEffect, useState } from "react";
import { api } from "@/lib/api";
import { type Priority, type Task, createTask, listTasks } from "@/lib/todo-client";

export function DueList({ tag }: { tag: string }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    listTasks(api, { tag: [tag], completed: false, ordering: "due_at" }).then(
      (page) => setTasks(page.results),
      (e: Error) => setError(e.message),
    );
  }, [tag]);

  async function add(form: FormData) {
    // <input type="datetime-local"> gives a local time without a zone; the API refuses those (422), so send
    // the instant it means in the browser's zone, as UTC.
    const local = String(form.get("due"));
    const task = await createTask(api, {
      title: String(form.get("title")),
      due_at: local ? new Date(local).toISOString() : null,
      priority: String(form.get("priority")) as Priority,
      tags: [tag, ...String(form.get("tags")).split(",")].map((t) => t.trim()).filter(Boolean),
    });
    setTasks((current) => [...current, task]);
  }

  const now = new Date();
  return (
    <section>
      {error && <p role="alert">{error}</p>}
      <form action={add}>
        <input name="title" required maxLength={100} />
        <input name="due" type="datetime-local" />
        <select name="priority" defaultValue="none">
          {(["none", "low", "medium", "high"] as const).map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <input name="tags" placeholder="more tags, comma-separated" />
        <button type="submit">Add</button>
      </form>
      <ul>
        {tasks.map((task) => (
          <li key={task.id} className={task.due_at && new Date(task.due_at) < now ? "overdue" : undefined}>
            {task.title}
            {task.due_at && <time dateTime={task.due_at}> {new Date(task.due_at).toLocaleString()}</time>}
            {task.priority !== "none" && <span> ({task.priority})</span>}
            {task.tags.map((t) => (
              <span key={t} className="tag">
                {t}
              </span>
            ))}
          </li>
        ))}
      </ul>
    </section>
  );
}
