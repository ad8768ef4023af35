import { expect, test, type Page } from "@playwright/test";
import { ask as send, devices, hydrated, lastAnswer } from "./helpers";

// Versions of a conversation, on a desktop and on a phone: regenerate the last answer, edit a
// question and send it again, page through the versions ("‹ 2 / 2 ›"), all kept over a
// reload; and the same forms without JavaScript.

async function ask(page: Page, question: string) {
  await send(page, question);
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
}

const shots = "test-results/versions";
const questions = (page: Page) => page.locator('[data-role="user"]');
const answers = (page: Page) => page.locator('[data-role="assistant"]');
const pager = (page: Page) => page.locator(".version-pager");

for (const device of devices) {
  test.describe(device.name, () => {
    test.use({ viewport: device.viewport });

    test("regenerate the last answer and page back to the first one", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "How is Haaland doing?");
      const prose = () => lastAnswer(page).locator(".prose-chat");
      const first = await prose().innerText();
      await page.getByRole("button", { name: "↻ Regenerate" }).click();
      // The new answer streams in place of the old one, under the same question.
      await expect(questions(page)).toHaveCount(1);
      await expect(answers(page)).toHaveCount(1);
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await expect(pager(page)).toContainText("2 / 2");
      await page.screenshot({ path: `${shots}/regenerated-${device.name}.png` });

      await page.getByRole("button", { name: "Previous version" }).click();
      await expect(pager(page)).toContainText("1 / 2");
      await expect(prose()).toHaveText(first);
      await page.reload();
      await hydrated(page);
      await expect(pager(page)).toContainText("1 / 2");
      await page.getByRole("button", { name: "Next version" }).click();
      await expect(pager(page)).toContainText("2 / 2");
      await expect(page.getByRole("button", { name: "Next version" })).toBeDisabled();
    });

    test("edit a question: the conversation continues from it, the old branch stays", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "How is Haaland doing?");
      await ask(page, "What about his price?");
      await expect(questions(page)).toHaveCount(2);
      // Edit the first question (loaded or streamed on this page: both can be edited).
      await page.reload();
      await hydrated(page);
      await page.locator(".edit-question summary").first().click();
      const box = page.getByRole("textbox", { name: "Edited question" }).first();
      await box.fill("How is Salah doing?");
      await page.screenshot({ path: `${shots}/editing-${device.name}.png` });
      await page.locator(".edit-send").first().click();
      await expect(questions(page)).toHaveCount(1);
      await expect(questions(page).first()).toHaveText("How is Salah doing?");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      await expect(pager(page).first()).toContainText("2 / 2");
      await page.screenshot({ path: `${shots}/edited-${device.name}.png` });

      // The earlier branch, with its follow-up, is one click away.
      await page.getByRole("button", { name: "Previous version" }).click();
      await expect(questions(page)).toHaveCount(2);
      await expect(questions(page).first()).toHaveText("How is Haaland doing?");
      await expect(questions(page).last()).toHaveText("What about his price?");
    });
  });
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("regenerate, edit and the pager are plain forms", async ({ page, browser }) => {
    // A conversation made with JavaScript, then read without it (same cookie).
    const context = await browser.newContext({ javaScriptEnabled: true });
    const js = await context.newPage();
    await js.goto("/");
    await hydrated(js);
    await ask(js, "How is Haaland doing?");
    const address = js.url();
    const cookies = await context.cookies();
    await context.close();
    await page.context().addCookies(cookies);

    await page.goto(address);
    await page.getByRole("button", { name: "↻ Regenerate" }).click();
    await expect(page).toHaveURL(address);
    await expect(pager(page)).toContainText("2 / 2");
    await page.getByRole("button", { name: "Previous version" }).click();
    await expect(pager(page)).toContainText("1 / 2");

    await page.locator(".edit-question summary").first().click();
    await page.getByRole("textbox", { name: "Edited question" }).fill("How is Palmer doing?");
    await page.locator(".edit-send").click();
    await expect(page).toHaveURL(address);
    await expect(questions(page).first()).toHaveText("How is Palmer doing?");
    await expect(pager(page).first()).toContainText("2 / 2");
  });
});
