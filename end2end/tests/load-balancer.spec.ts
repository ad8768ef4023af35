import { expect, test, type Page } from "@playwright/test";

// Two release instances behind HAProxy round-robin with no stickiness (scripts/e2e-lb), on one
// PostgreSQL database and one Redis Cluster. Every request may land on either instance: HAProxy
// names the one that served it in X-Served-By (app1, app2). The whole visit — sign up, answers
// with tool cards, reloads, the list, the rate-limit countdown, log out — must look the same
// whichever instance answers. The signed-in limit is 3 questions per 90 s, shared through Redis.

const backends = ["app1", "app2"] as const;
type Backend = (typeof backends)[number];
const other = (b: Backend): Backend => (b === "app1" ? "app2" : "app1");

test.skip(!process.env.LB_APP_URL, "LB_APP_URL is unset: scripts/e2e-lb starts the instances");

/** A response the browser received, and which instance served it. */
type Served = { method: string; path: string; status: number; backend: Backend; retryAfter?: number };

/**
 * Follows the page's traffic: every response with the instance that served it, and the
 * requests still open (an answer's stream stays open until the answer ends).
 */
function watch(page: Page) {
  const served: Served[] = [];
  let open = 0;
  page.on("request", () => open++);
  page.on("requestfinished", () => open--);
  page.on("requestfailed", () => open--);
  page.on("response", (response) => {
    const backend = response.headers()["x-served-by"] as Backend | undefined;
    if (!backend) return;
    const retryAfter = response.headers()["retry-after"];
    served.push({
      method: response.request().method(),
      path: new URL(response.url()).pathname,
      status: response.status(),
      backend,
      retryAfter: retryAfter === undefined ? undefined : Number(retryAfter),
    });
  });
  /**
   * Makes the page's next request land on `backend`: waits until the page has no request
   * open, then sends /healthz until one is served by the other instance (round-robin then
   * gives the next request to `backend`). Without it a fixed number of background requests
   * per turn (the list refreshes after each answer) could send every question to one instance.
   */
  const nextOn = async (backend: Backend) => {
    await expect.poll(() => open, { message: "requests still open" }).toBe(0);
    for (let i = 0; i < 4; i++) {
      const r = await page.request.get("/healthz");
      if (r.headers()["x-served-by"] === other(backend)) return;
    }
    throw new Error("HAProxy does not alternate between the instances");
  };
  const chats = () => served.filter((s) => s.method === "POST" && s.path === "/api/chat");
  return { served, nextOn, chats };
}

async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

async function ask(page: Page, question: string) {
  await page.locator("#message-input").fill(question);
  await page.locator("#message-input").press("Enter");
}

const lastAnswer = (page: Page) => page.locator('[data-role="assistant"]').last();

/** What the page shows: the list's entries (id, title) and each message's role, text and tools. */
async function shown(page: Page) {
  const list = await page.locator("#conversation-list [data-conversation]").evaluateAll((nodes) =>
    nodes.map((n) => `${n.getAttribute("data-conversation")} ${n.textContent}`),
  );
  const messages = await page.locator("#messages [data-role]").evaluateAll((nodes) =>
    nodes.map((n) => ({
      role: n.getAttribute("data-role"),
      text: n.querySelector(".user-text, .prose-chat")?.textContent,
      tools: [...n.querySelectorAll(".tool-card")].map((c) => `${c.getAttribute("data-tool")}:${c.getAttribute("data-state")}`),
    })),
  );
  return { list, messages };
}

/** Reloads the page with the document served by `backend`; returns that response's server. */
async function reloadOn(page: Page, nextOn: (b: Backend) => Promise<void>, backend: Backend) {
  await nextOn(backend);
  const response = await page.reload();
  await hydrated(page);
  return response?.headers()["x-served-by"];
}

test("a visit through round-robin instances: nothing flips", async ({ page }) => {
  test.setTimeout(240_000);
  const { served, nextOn, chats } = watch(page);
  const email = `lb-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const signedIn = page.locator('#account [data-signed-in="true"]');
  const list = page.locator("#conversation-list");

  // Anonymous: an answer with a tool card, streamed through the proxy.
  await page.goto("/");
  await hydrated(page);
  await ask(page, "How is Haaland doing?");
  await expect(lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]')).toHaveAttribute("data-state", "done");
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const first = page.url().split("/c/")[1];

  // Sign up: the conversation becomes the account's.
  await page.locator("#account-email").fill(email);
  await page.locator("#account-password").fill("correct horse battery");
  await page.locator("#sign-up").click();
  await expect(signedIn).toContainText(email);
  await expect(list.locator(`[data-conversation="${first}"]`)).toHaveCount(1);

  // Three questions, the signed-in limit, sent to app1, app2, app1; the fourth, to app2, is
  // refused although app2 itself has answered only one: the limit is the one in Redis.
  const signedUpAt = chats().length;
  const questions = ["Compare Haaland and Watkins", "When is the next deadline?", "How is Watkins doing?"];
  for (const [i, question] of questions.entries()) {
    await nextOn(backends[i % 2]);
    await ask(page, question);
    await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
    await expect(lastAnswer(page).locator('[role="alert"]')).toHaveCount(0);
  }
  await expect(lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]')).toHaveAttribute("data-state", "done");
  await nextOn("app2");
  await ask(page, "How is Salah doing?");
  await expect(lastAnswer(page).locator('[role="alert"]')).toContainText("the limit of your plan");
  const countdown = page.locator("#cooldown");
  await expect(countdown).toContainText(/ask again in \d+ s/);
  await expect(page.locator("#message-input")).toBeDisabled();
  const turns = chats().slice(signedUpAt);
  expect(turns.map((t) => `${t.backend} ${t.status}`)).toEqual(["app1 200", "app2 200", "app1 200", "app2 429"]);
  const firstWait = turns[3].retryAfter!;
  const refusedAt = Date.now();
  expect(firstWait).toBeGreaterThan(0);

  // After a reload the other instance refuses too, with what is left of the same wait.
  expect(await reloadOn(page, nextOn, "app1")).toBe("app1");
  await nextOn("app1");
  await ask(page, "How is Salah doing?");
  await expect(countdown).toContainText(/ask again in \d+ s/);
  const again = chats()[chats().length - 1];
  expect([again.backend, again.status]).toEqual(["app1", 429]);
  const elapsed = Math.ceil((Date.now() - refusedAt) / 1000);
  expect(again.retryAfter!).toBeLessThanOrEqual(firstWait);
  expect(again.retryAfter!).toBeGreaterThanOrEqual(firstWait - elapsed - 1);
  const shownWait = Number((await countdown.textContent())!.match(/in (\d+) s/)![1]);
  expect(shownWait).toBeLessThanOrEqual(again.retryAfter!);

  // Once the countdown ends, a new conversation's question is answered.
  await expect(countdown).toBeHidden({ timeout: (again.retryAfter! + 5) * 1000 });
  await nextOn("app2");
  await page.goto("/");
  await hydrated(page);
  await ask(page, "How is Salah doing?");
  await expect(lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]')).toHaveAttribute("data-state", "done");
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  const second = page.url().split("/c/")[1];

  // Reloads served by each instance in turn show the same account, list and conversation.
  await page.goto(`/c/${first}`);
  await hydrated(page);
  let conversation: Awaited<ReturnType<typeof shown>> | undefined;
  for (const backend of [...backends, ...backends]) {
    expect(await reloadOn(page, nextOn, backend)).toBe(backend);
    await expect(signedIn).toContainText(email);
    await expect(list.locator("[data-conversation]")).toHaveCount(2);
    await expect(list.locator(`[data-conversation="${first}"]`)).toHaveCount(1);
    await expect(list.locator(`[data-conversation="${second}"]`)).toHaveCount(1);
    await expect(page.locator('#messages [data-role="assistant"]')).toHaveCount(4);
    const now = await shown(page);
    conversation ??= now;
    expect(now).toEqual(conversation);
  }
  expect(conversation!.messages.filter((m) => m.role === "user").map((m) => m.text)).toEqual(
    expect.arrayContaining(["How is Haaland doing?", ...questions]),
  );
  expect(conversation!.messages.flatMap((m) => m.tools)).toEqual(
    expect.arrayContaining(["fpl_player_data:done", "fpl_player_comparison:done"]),
  );

  // Log out: signed out on both instances, the conversations no longer reachable.
  await page.locator("#log-out").click();
  await expect(page.locator('#account [data-signed-in="false"]')).toBeVisible();
  for (const backend of backends) {
    await nextOn(backend);
    const response = await page.goto(`/c/${first}`);
    expect(response?.headers()["x-served-by"]).toBe(backend);
    expect(response?.status()).toBe(404);
    await hydrated(page);
    await expect(page.locator("#not-found")).toBeVisible();
    await expect(page.locator('#account [data-signed-in="false"]')).toBeVisible();
    await expect(list.locator("[data-conversation]")).toHaveCount(0);
  }

  // Both instances served pages, server functions and answers; none failed.
  for (const backend of backends) {
    const mine = served.filter((s) => s.backend === backend);
    expect(mine.some((s) => s.method === "GET" && !s.path.startsWith("/pkg/"))).toBe(true);
    expect(mine.some((s) => s.path.startsWith("/api/") && s.path !== "/api/chat")).toBe(true);
    expect(mine.some((s) => s.path === "/api/chat" && s.status === 200)).toBe(true);
  }
  expect(served.filter((s) => s.status >= 500)).toEqual([]);
});

test("a page reloaded mid-answer follows it from the other instance", async ({ page }) => {
  const { served } = watch(page);
  const prose = () => lastAnswer(page).locator(".prose-chat");
  await page.goto("/");
  await hydrated(page);
  await ask(page, "Show the league table"); // the longest offline answer
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await expect.poll(() => lastAnswer(page).locator(".md-block").count()).toBeGreaterThan(0);
  const writer = served.find((s) => s.method === "POST" && s.path === "/api/chat")!.backend;
  // Reload until the page's stream of the answer comes from the instance not writing it.
  const streams = () => served.filter((s) => s.method === "GET" && s.path.endsWith("/stream"));
  for (let i = 0; i < 6 && !streams().some((s) => s.backend === other(writer)); i++) {
    const before = streams().length;
    // A reload makes the same requests each time: one more request moves round-robin on.
    if (i > 0) await page.request.get("/healthz");
    await page.reload();
    await hydrated(page);
    await expect.poll(() => streams().length).toBeGreaterThan(before);
  }
  const followed = streams().find((s) => s.backend === other(writer));
  expect(followed?.status, `an answer written by ${writer} followed from ${other(writer)}`).toBe(200);
  await expect(page.locator('[data-role="user"]')).toHaveCount(1);
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false", { timeout: 30_000 });
  await expect(prose().locator("table")).toHaveCount(1);
  const text = await prose().innerText();
  await page.reload();
  await hydrated(page);
  await expect.poll(() => prose().innerText()).toBe(text);
});
