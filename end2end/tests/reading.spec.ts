import { expect, test } from "@playwright/test";
import { ask, hydrated, lastAnswer } from "./helpers";

// Reading while an answer streams, on a desktop and on a phone: finished blocks keep their
// DOM, the view follows only at the bottom (with "Jump to latest"), a status region announces
// the answer (not the log), failed tool cards say why, copy buttons, suggested questions.

const shots = "test-results/reading";

for (const device of [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 700 } },
]) {
  test.describe(device.name, () => {
    test.use({ viewport: device.viewport });

    test("a suggested question is sent with one click", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await page.getByRole("button", { name: "Show the league table" }).click();
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await expect(page.locator('[data-role="user"]')).toHaveText("Show the league table");
      await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
    });

    test("finished blocks keep their DOM while the answer streams; the status is announced", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      // Each status the region announces.
      await page.evaluate(() => {
        const w = window as any;
        w.__statuses = [];
        new MutationObserver(() => {
          const status = document.querySelector("#answer-status")?.textContent ?? "";
          if (status && w.__statuses[w.__statuses.length - 1] !== status) w.__statuses.push(status);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      await ask(page, "Show the league table");
      // Mid-stream, every block but the growing last one is finished: tag those nodes.
      const blocks = lastAnswer(page).locator(".md-block");
      await expect.poll(() => blocks.count()).toBeGreaterThan(1);
      const tagged = await lastAnswer(page).evaluate((el) => {
        const all = Array.from(el.querySelectorAll(".md-block"));
        (window as any).__finished = all.slice(0, -1);
        return all.length - 1;
      });
      expect(await lastAnswer(page).getAttribute("data-streaming")).toBe("true");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      expect(await blocks.count()).toBeGreaterThan(tagged);
      // The finished blocks are the same nodes at the end: never rendered again.
      const kept = await page.evaluate(() => (window as any).__finished.every((n: Element) => n.isConnected));
      expect(kept).toBe(true);
      const statuses: string[] = await page.evaluate(() => (window as any).__statuses);
      expect(statuses).toEqual(["Answering…", "Answer complete."]);
      await expect(page.locator("#messages")).not.toHaveAttribute("aria-live", /.*/);
    });

    test("the view follows new text only at the bottom, with Jump to latest", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "Show the league table");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      const messages = page.locator("#messages");
      const gap = () =>
        messages.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
      expect(await gap()).toBeLessThan(48);

      // Scrolled up while the next answer streams: the view stays where the reader is.
      await ask(page, "Who has the easiest fixtures for the next five gameweeks?");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "true");
      await messages.evaluate((el) => (el.scrollTop = 0));
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      expect(await messages.evaluate((el) => el.scrollTop)).toBeLessThan(10);
      const jump = page.locator("#jump-to-latest");
      await expect(jump).toBeVisible();
      await page.screenshot({ path: `${shots}/jump-${device.name}.png` });
      await jump.click();
      await expect.poll(gap).toBeLessThan(48);
      await expect(jump).toBeHidden();

      // At the bottom, Regenerate: the old answer goes (the messages get shorter, and the
      // view with them), and the view follows the new one to its end.
      await page.getByRole("button", { name: "↻ Regenerate" }).click();
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "true");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await expect(page.locator(".version-pager").last()).toContainText("2 / 2");
      await expect(jump).toBeHidden();
      expect(await gap()).toBeLessThan(48);
    });

    test("copy buttons put Markdown on the clipboard; failed tool cards say why", async ({ page, context }) => {
      await context.grantPermissions(["clipboard-read", "clipboard-write"]);
      await page.goto("/");
      await hydrated(page);
      await ask(page, "Show the league table");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await lastAnswer(page).locator(".copy-block").first().click();
      const table: string = await page.evaluate(() => navigator.clipboard.readText());
      expect(table).toMatch(/^\|.*\|\n\|[-:| ]+\|\n/);
      await lastAnswer(page).getByRole("button", { name: "Copy answer" }).click();
      await expect(lastAnswer(page).locator(".copy-answer")).toHaveText("Copied");
      const answer: string = await page.evaluate(() => navigator.clipboard.readText());
      expect(answer).toContain(table.trim());
      expect(answer.length).toBeGreaterThan(table.length);

      await ask(page, "How many points did manager 99999999 score?");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      const card = lastAnswer(page).locator('.tool-card-wrap:has(.tool-card[data-state="failed"])');
      await expect(card.locator(".tool-error")).toContainText("FPL team 99999999 is not available");
      await page.screenshot({ path: `${shots}/failed-tool-${device.name}.png` });
    });
  });
}
