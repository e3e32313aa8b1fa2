"use client";
// A client component: lists the signed-in user's open tasks, adds, toggles and deletes them.
import { useEffect, useState } from "react";
import { api } from "@/lib/api";
import { type Task, createTask, deleteTask, listTasks, toggleTask } from "@/lib/todo-client";

export function TaskList() {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    listTasks(api, { completed: false }).then((page) => setTasks(page.results), (e: Error) => setError(e.message));
  }, []);

  async function add(form: FormData) {
    const task = await createTask(api, { title: String(form.get("title")) });
    setTasks((current) => [task, ...current]);
  }

  async function toggle(id: string) {
    const task = await toggleTask(api, id);
    setTasks((current) => current.map((t) => (t.id === id ? task : t)));
  }

  async function remove(id: string) {
    await deleteTask(api, id);
    setTasks((current) => current.filter((t) => t.id !== id));
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
