import { expect, test, type Page } from "@playwright/test";

// The app answering through Claude's Messages API, with the project's stand-in for Claude
// (a scripted model that calls an FPL tool, then sums up its result).

async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

async function ask(page: Page, question: string) {
  await page.locator("#message-input").fill(question);
  await page.locator("#message-input").press("Enter");
}

const lastAnswer = (page: Page) => page.locator('[data-role="assistant"]').last();

test("Claude's answer streams in, with the text before the tool call and a tool card", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as any).__seen = seen;
    new MutationObserver(() => {
      const bubbles = document.querySelectorAll('#messages [data-role="assistant"]');
      const text = bubbles[bubbles.length - 1]?.querySelector(".prose-chat")?.textContent ?? "";
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document.querySelector("#messages")!, { subtree: true, childList: true, characterData: true });
  });
  await ask(page, "How is Haaland doing?");
  const card = lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]');
  await expect(card).toBeVisible();
  await expect(card).toHaveAttribute("data-state", "done");
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  // What Claude wrote before the tool call stays, followed by the summary of the result.
  await expect(lastAnswer(page)).toContainText("Let me check the FPL data.");
  await expect(lastAnswer(page)).toContainText("Here is what the FPL data shows");
  await expect(lastAnswer(page)).toContainText("Haaland");
  const seen: string[] = await page.evaluate(() => (window as any).__seen);
  expect(seen.length).toBeGreaterThan(4);

  // Stored: after a reload the server renders the same answer with its tool card.
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await page.reload();
  await expect(lastAnswer(page)).toContainText("Here is what the FPL data shows");
  await expect(lastAnswer(page).locator('.tool-card[data-tool="fpl_player_data"]')).toBeVisible();
});

test("an overloaded Claude is explained to the user, and the next question works", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "Please simulate overload");
  const alert = lastAnswer(page).locator('[role="alert"]');
  await expect(alert).toContainText("overloaded");
  await expect(alert).toContainText("try again");
  await expect(page.locator("#message-input")).toBeEnabled();
  await ask(page, "hello");
  await expect(lastAnswer(page)).toContainText("Ask me about FPL players");
});
