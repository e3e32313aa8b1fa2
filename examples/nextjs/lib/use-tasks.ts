"use client";
// The signed-in user's tasks, kept current from the changes feed: one full read, then only what changed, every
// `intervalMs` and whenever the tab regains focus. Other tabs' and devices' edits and deletions arrive by themselves.
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "@/lib/api";
import { type Task, type TaskStore, syncTasks } from "@/lib/todo-client";

export function useTasks(intervalMs = 15_000) {
  const [store, setStore] = useState<TaskStore>({ tasks: new Map() });
  const [error, setError] = useState<string>();
  const latest = useRef(store);
  const running = useRef<Promise<void> | undefined>(undefined);

  // One pull at a time, each from the cursor the last one reached.
  const refresh = useCallback(() => {
    running.current ??= syncTasks(api, latest.current)
      .then((next) => {
        latest.current = next;
        setStore(next);
        setError(undefined);
      }, (e: Error) => setError(e.message))
      .finally(() => {
        running.current = undefined;
      });
    return running.current;
  }, []);

  // This tab's own writes show at once; the next pull brings the same state (or a newer one) from the feed.
  const apply = useCallback((task: Task | { id: string; deleted: true }) => {
    const tasks = new Map(latest.current.tasks);
    if ("deleted" in task) tasks.delete(task.id);
    else tasks.set(task.id, task);
    latest.current = { ...latest.current, tasks };
    setStore(latest.current);
  }, []);

  useEffect(() => {
    void refresh();
    const timer = setInterval(refresh, intervalMs);
    window.addEventListener("focus", refresh);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", refresh);
    };
  }, [refresh, intervalMs]);

  const tasks = [...store.tasks.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  return { tasks, error, refresh, apply };
}
