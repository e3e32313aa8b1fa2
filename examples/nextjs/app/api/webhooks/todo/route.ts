// The todo API's webhooks (its WEBHOOK_URL): each delivery is checked with WEBHOOK_SECRET; a reminder becomes a push.
import { Webhook } from "standardwebhooks";
import webpush from "web-push";
import { subscriptionOf, vapidDetails, type TodoWebhook } from "@/lib/push";

export async function POST(request: Request) {
  const webhook = new Webhook(process.env.WEBHOOK_SECRET!); // the API's own WEBHOOK_SECRET, "whsec_..."
  let event: TodoWebhook;
  try {
    // The raw text, as sent: the signature covers these bytes (and a webhook-timestamp at most 5 minutes off).
    event = webhook.verify(await request.text(), Object.fromEntries(request.headers)) as TodoWebhook;
  } catch {
    return new Response("Bad signature", { status: 400 });
  }
  if (event.type === "task.reminder") {
    const { user_id, task } = event.data;
    const subscription = await subscriptionOf(user_id);
    // tag, for the service worker's showNotification(): a repeated delivery replaces the notification, adds none.
    const payload = JSON.stringify({ title: task.title, due_at: task.due_at, tag: task.id });
    if (subscription) await webpush.sendNotification(subscription, payload, { vapidDetails });
  }
  return new Response(null, { status: 204 }); // 2xx: delivered; any other answer is retried with the same webhook-id
}
