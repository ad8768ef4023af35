import { expect, test, type Page } from "@playwright/test";

async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

/** Records every text the last assistant bubble shows, to prove the answer streamed in. */
async function recordStreaming(page: Page) {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as any).__seen = seen;
    const root = document.querySelector("#messages")!;
    new MutationObserver(() => {
      const bubbles = root.querySelectorAll('[data-role="assistant"]');
      const last = bubbles[bubbles.length - 1];
      const text = last?.querySelector(".prose-chat")?.textContent ?? "";
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(root, { subtree: true, childList: true, characterData: true });
  });
}

async function ask(page: Page, question: string) {
  await page.locator("#message-input").fill(question);
  await page.locator("#message-input").press("Enter");
}

const lastAnswer = (page: Page) => page.locator('[data-role="assistant"]').last();

test("an answer streams in with a card for the tool it used", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await recordStreaming(page);
  await ask(page, "How is Haaland doing?");
  const card = lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]');
  await expect(card).toBeVisible();
  await expect(card).toHaveAttribute("data-state", "done");
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(lastAnswer(page)).toContainText("Haaland");
  const seen: string[] = await page.evaluate(() => (window as any).__seen);
  // Many intermediate states, each a prefix of the next: the text arrived piece by piece.
  expect(seen.length).toBeGreaterThan(5);
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i].length).toBeGreaterThanOrEqual(seen[i - 1].length);
  }
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  // The context meter shows what the model sees of the conversation.
  await expect(page.locator("#context-meter")).toContainText(/context [\d.]+k? \/ 100\.0k tokens/);
});

test("the conversation is listed after a reload", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "When is the next deadline?");
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\//);
  const url = page.url();
  await page.reload();
  const list = page.locator("#conversation-list");
  await expect(list).toContainText("When is the next deadline?");
  const id = url.split("/c/")[1];
  await expect(list.locator(`[data-conversation="${id}"]`)).toHaveCount(1);
  // The stored answer is on the page, rendered by the server.
  await expect(page.locator('[data-role="user"]')).toContainText("When is the next deadline?");
  await expect(page.locator('[data-role="assistant"]')).toContainText(/deadline/i);
});

test("stop ends a long answer and keeps what was written", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "Show the league table");
  const answer = lastAnswer(page);
  await expect(answer.locator(".prose-chat")).not.toHaveText("", { timeout: 15_000 });
  await page.locator("#stop").click();
  await expect(answer.locator('[data-status="interrupted"]')).toBeVisible();
  await expect(page.locator("#send")).toBeVisible();
  const partial = (await answer.locator(".prose-chat").textContent()) ?? "";
  expect(partial.length).toBeGreaterThan(0);
  await expect(page).toHaveURL(/\/c\//);
  await page.reload();
  const stored = lastAnswer(page);
  await expect(stored.locator('[data-status="interrupted"]')).toBeVisible();
  const storedText = (await stored.locator(".prose-chat").textContent()) ?? "";
  expect(storedText.length).toBeGreaterThan(0);
  // Only part of the 20-row table made it.
  expect((storedText.match(/\n/g) ?? []).length).toBeLessThan(40);
});

test("Shift+Enter breaks the line and Enter sends", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const input = page.locator("#message-input");
  await input.fill("Compare Haaland");
  await input.press("Shift+Enter");
  await input.pressSequentially("and Watkins");
  await expect(input).toHaveValue("Compare Haaland\nand Watkins");
  await expect(page.locator('[data-role="user"]')).toHaveCount(0);
  await input.press("Enter");
  await expect(page.locator('[data-role="user"]')).toHaveCount(1);
  await expect(lastAnswer(page).locator('.tool-card[data-tool="fpl_player_comparison"]')).toBeVisible();
});

test("the page hydrates: the theme toggle works", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const dark = () => page.evaluate(() => document.documentElement.classList.contains("dark"));
  const before = await dark();
  await page.locator("#theme-toggle").click();
  expect(await dark()).toBe(!before);
  await page.reload();
  expect(await dark()).toBe(!before); // the choice is kept
});

test("without the WASM the page does not claim to be hydrated", async ({ page }) => {
  await page.route("**/*.wasm", (route) => route.abort());
  await page.goto("/");
  await page.waitForTimeout(1_500);
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "false");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the form posts and the server renders the answer", async ({ page }) => {
    await page.goto("/");
    await page.locator("#message-input").fill("How much is Salah?");
    await page.locator("#send").click();
    await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
    await expect(page.locator('[data-role="user"]')).toContainText("How much is Salah?");
    await expect(page.locator('[data-role="assistant"]')).toContainText("£");
    await expect(page.locator('.tool-card[data-state="done"]').first()).toBeVisible();
  });
});

test("another visitor's conversation is a 404", async ({ page, browser }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "Who is in form?");
  await expect(page).toHaveURL(/\/c\//);
  const url = page.url();
  const stranger = await browser.newContext();
  const other = await stranger.newPage();
  const response = await other.goto(url);
  expect(response?.status()).toBe(404);
  await expect(other.locator("#not-found")).toBeVisible();
  await stranger.close();
});
