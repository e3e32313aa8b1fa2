// The client side of e2e/README.md, run in Node instead of a browser:
//   node frontend.mjs AUTH_URL API_URL EMAIL PASSWORD
// signs up and in with Better Auth's client, gets the JWT with authClient.token(), creates and lists tasks
// through the API with it, and prints what it saw as JSON.
import { createAuthClient } from "better-auth/client"; // better-auth/react is the same client plus hooks
import { jwtClient } from "better-auth/client/plugins";

const [authUrl, apiUrl, email, password] = process.argv.slice(2);

// A browser on the frontend's origin sends Origin and keeps Better Auth's session cookie by itself;
// Node's fetch does neither, so this does it.
const cookies = new Map();
async function browserFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("origin", authUrl);
  if (cookies.size) headers.set("cookie", [...cookies].map(([name, value]) => `${name}=${value}`).join("; "));
  const response = await fetch(input, { ...init, headers });
  for (const cookie of response.headers.getSetCookie()) {
    const [pair] = cookie.split(";");
    const [name, value] = pair.split("=");
    cookies.set(name, value);
  }
  return response;
}

// The README's lib/auth-client.ts, with browserFetch standing in for the browser.
const authClient = createAuthClient({
  baseURL: authUrl,
  plugins: [jwtClient()],
  fetchOptions: { customFetchImpl: browserFetch },
});

async function api(path, init = {}) {
  const { data, error } = await authClient.token();
  if (error) throw new Error("Not signed in");
  return fetch(`${apiUrl}${path}`, {
    ...init,
    headers: { ...init.headers, "Content-Type": "application/json", Authorization: `Bearer ${data.token}` },
  });
}

const signUp = await authClient.signUp.email({ email, password, name: "Frontend" });
if (signUp.error) throw new Error(`sign-up failed: ${JSON.stringify(signUp.error)}`);
cookies.clear();
const signIn = await authClient.signIn.email({ email, password });
if (signIn.error) throw new Error(`sign-in failed: ${JSON.stringify(signIn.error)}`);

const created = await api("/api/tasks", { method: "POST", body: JSON.stringify({ title: "Buy milk" }) });
const listed = await api(`/api/${signIn.data.user.id}/tasks`);
console.log(
  JSON.stringify({
    userId: signIn.data.user.id,
    created: { status: created.status, body: await created.json() },
    listed: { status: listed.status, body: await listed.json() },
  }),
);
