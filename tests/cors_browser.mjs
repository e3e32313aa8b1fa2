// Drives headless Chromium for tests/test_cors_browser.py: opens each page and runs fetch() from it, as page code.
//   node cors_browser.mjs '<json config>'  ->  prints {"<scenario>": {origin, userAgent, ...what the page saw}}
import { createRequire } from "node:module";

const require = createRequire(new URL("../examples/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const context = await chromium.launchPersistentContext(config.userDataDir, {
  executablePath: config.executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const timer = setTimeout(() => {
  console.error("timed out");
  process.exit(2);
}, 60_000);

// Runs in the page, as the page's own code. Every call carries Authorization, so each one needs a CORS preflight.
async function scenario({ kind, api, token, attempts }) {
  const auth = { Authorization: `Bearer ${token}` };
  const outcome = (promise) => promise.then((r) => ({ status: r.status }), (e) => ({ error: `${e.name}: ${e.message}` }));
  if (kind === "blocked") {
    return { withToken: await outcome(fetch(`${api}/api/tasks`, { headers: auth })) };
  }
  if (kind === "throttled") {
    const statuses = [];
    for (let i = 0; i < attempts; i++) {
      const response = await fetch(`${api}/api/tasks`, { headers: auth });
      statuses.push(response.status);
      if (response.status === 429) {
        return { statuses, retryAfter: response.headers.get("Retry-After"), body: await response.json() };
      }
    }
    return { statuses };
  }
  // The request headers a frontend sends besides Authorization: each must pass the preflight.
  const created = await fetch(`${api}/api/tasks`, {
    method: "POST",
    headers: {
      ...auth,
      "Content-Type": "application/json",
      "Idempotency-Key": crypto.randomUUID(),
      "X-Request-ID": "from-the-browser",
    },
    body: JSON.stringify({ title: "From the browser" }),
  });
  const task = await created.json();
  const read = await fetch(`${api}/api/tasks/${task.id}`, { headers: { ...auth, "If-None-Match": '"stale"' } });
  const toggled = await fetch(`${api}/api/tasks/${task.id}/complete`, {
    method: "PATCH",
    headers: { ...auth, "If-Match": "*" },
  });
  const deleted = await fetch(`${api}/api/tasks/${task.id}`, { method: "DELETE", headers: auth });
  return {
    created: {
      status: created.status,
      location: created.headers.get("Location"),
      id: task.id,
      requestId: created.headers.get("X-Request-ID"),
    },
    read: { status: read.status, requestId: read.headers.get("X-Request-ID") },
    notExposed: created.headers.get("X-Frame-Options"),
    toggled: { status: toggled.status, completed: (await toggled.json()).completed },
    deleted: { status: deleted.status },
    withCredentials: await outcome(fetch(`${api}/api/tasks`, { headers: auth, credentials: "include" })),
  };
}

const results = {};
try {
  for (const [name, { page: url, ...args }] of Object.entries(config.scenarios)) {
    const page = await context.newPage();
    await page.goto(url);
    const origin = await page.evaluate(() => location.origin);
    const userAgent = await page.evaluate(() => navigator.userAgent);
    results[name] = { origin, userAgent, ...(await page.evaluate(scenario, args)) };
    await page.close();
  }
} finally {
  clearTimeout(timer);
  await context.close();
}
console.log(JSON.stringify(results));
