// What the todo API's worker POSTs to WEBHOOK_URL (docs/deploy.md, "The worker"), and what the app needs to turn a
// reminder into a Web Push notification: its VAPID keys and the user's push subscription.
import type { PushSubscription } from "web-push";
import type { Task } from "@/lib/todo-client";

type Envelope<Type extends string, Data> = { type: Type; timestamp: string; data: { user_id: string } & Data };

/** The body of a delivery; which types arrive is the API's WEBHOOK_EVENTS (task.reminder by default). */
export type TodoWebhook =
  | Envelope<"task.reminder", { remind_at: string; offset_minutes: number; task: Task }>
  | Envelope<"task.created" | "task.updated" | "task.completed", { task: Task }>
  | Envelope<"task.deleted", { task: Pick<Task, "id"> }>;

// Made once with `npx web-push generate-vapid-keys`; the public key is the one the browser subscribes with.
export const vapidDetails = {
  subject: process.env.VAPID_SUBJECT ?? "mailto:admin@example.com",
  publicKey: process.env.NEXT_PUBLIC_VAPID_PUBLIC_KEY ?? "",
  privateKey: process.env.VAPID_PRIVATE_KEY ?? "",
};

/** The subscription the user's browser saved (the JSON of pushManager.subscribe() in the app's service worker, POSTed
 * to the app), or null when they allowed no notifications. A stub: read it from the app's own database. */
export async function subscriptionOf(userId: string): Promise<PushSubscription | null> {
  void userId;
  return null;
}
