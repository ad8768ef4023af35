import { expect, test, type Page } from "@playwright/test";
import { ask, devices, hydrated, lastAnswer } from "./helpers";

// Answers that survive a reload, on a desktop and on a phone: the address names the
// conversation as soon as it exists, a page reloaded mid-answer follows the answer from its
// start to its end (the stored answer is the one it showed), Stop works on the reloaded page,
// and without JavaScript the page says an answer is being written.

const shots = "test-results/reattach";
// The longest answer of the offline analyst (the table of 20 teams, 3 s at its pace).
const QUESTION = "Show the league table";
const prose = (page: Page) => lastAnswer(page).locator(".prose-chat");

/** Asks QUESTION and waits until the answer has started (the address already names it). */
async function midAnswer(page: Page) {
  await page.goto("/");
  await hydrated(page);
  await ask(page, QUESTION);
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "true");
  await expect.poll(() => lastAnswer(page).locator(".md-block").count()).toBeGreaterThan(0);
  expect(await lastAnswer(page).getAttribute("data-streaming")).toBe("true");
}

for (const device of devices) {
  test.describe(device.name, () => {
    test.use({ viewport: device.viewport });

    test("a page reloaded mid-answer follows the answer to its end", async ({ page }) => {
      await midAnswer(page);
      const address = page.url();
      await page.reload();
      await hydrated(page);
      await expect(page).toHaveURL(address);
      // The question once (loaded), the answer streaming below it, Stop offered.
      await expect(page.locator('[data-role="user"]')).toHaveCount(1);
      await expect(page.locator('[data-role="user"]')).toHaveText(QUESTION);
      await expect(page.locator("#stop")).toBeVisible();
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "true");
      await page.screenshot({ path: `${shots}/following-${device.name}.png` });
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false", { timeout: 30_000 });
      await expect(page.locator("#send")).toBeVisible();
      await expect(page.locator('[data-role="assistant"]')).toHaveCount(1);
      const followed = await prose(page).innerText();
      await expect(prose(page).locator("table")).toHaveCount(1);
      // What was followed is what was stored.
      await page.reload();
      await hydrated(page);
      await expect.poll(() => prose(page).innerText()).toBe(followed);
      await expect(page.locator("#answer-pending")).toHaveCount(0);
    });

    test("Stop on a reloaded page stops the answer", async ({ page }) => {
      await midAnswer(page);
      await page.reload();
      await hydrated(page);
      await expect(page.locator("#stop")).toBeVisible();
      await page.locator("#stop").click();
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await expect(page.locator("#send")).toBeVisible();
      await expect(lastAnswer(page).locator('[data-status="interrupted"]')).toBeVisible();
      await expect(page.locator("#message-input")).toBeFocused();
      await page.reload();
      await hydrated(page);
      await expect(lastAnswer(page).locator('[data-status="interrupted"]')).toBeVisible();
      await expect(page.locator("#stop")).toHaveCount(0);
    });
  });
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a page opened mid-answer says the answer is being written", async ({ page, browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: true });
    const js = await context.newPage();
    await midAnswer(js);
    await page.context().addCookies(await context.cookies());
    await page.goto(js.url());
    await expect(page.locator('[data-role="user"]')).toHaveText(QUESTION);
    await expect(page.locator("#answer-pending")).toContainText("being written");
    await page.screenshot({ path: `${shots}/pending-no-js.png` });
    await context.close();
    // The answer goes on without any page; a reload once it is stored shows it.
    await expect(async () => {
      await page.reload();
      await expect(page.locator("#answer-pending")).toHaveCount(0, { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(prose(page).locator("table")).toHaveCount(1);
  });
});
