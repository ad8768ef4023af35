import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { ask as send, devices, hydrated, lastAnswer } from "./helpers";

// The conversation list's tools, on a desktop and on a phone: search, rename in place, delete
// with undo, export (Markdown and JSON), and read-only share links.

/** Asks and waits for the whole answer, in a conversation of its own address. */
async function ask(page: Page, question: string) {
  await send(page, question);
  await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\/[0-9a-f-]{36}$/);
}

const idOf = (page: Page) => page.url().split("/c/")[1];

/** Shows the conversation list (on a phone it is behind the menu button). */
async function openList(page: Page) {
  if (!(await page.locator("#sidebar").isVisible())) {
    await page.locator("#menu").click();
  }
  await expect(page.locator("#sidebar")).toBeVisible();
}

const shots = "test-results/conversations";

for (const device of devices) {
  test.describe(device.name, () => {
    test.use({ viewport: device.viewport });

    test("rename in place, then delete with undo", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "How is Haaland doing?");
      const id = idOf(page);
      await openList(page);
      const item = page.locator(`#conversation-list [data-conversation="${id}"]`);
      await item.getByRole("button", { name: /^Rename/ }).click();
      const field = item.getByRole("textbox", { name: "Conversation title" });
      await expect(field).toBeFocused();
      await field.fill("Haaland watch");
      await page.screenshot({ path: `${shots}/rename-${device.name}.png` });
      // The list shows the new title at once; the reload waits until the server has it
      // (a reload would cancel the request still on its way).
      const stored = page.waitForResponse((r) => r.url().includes("/conversations/rename") && r.ok());
      await field.press("Enter");
      await expect(item.locator("a")).toHaveText("Haaland watch");
      await stored;
      await page.reload();
      await expect(page.locator("#conversation-title")).toHaveText("Haaland watch");

      // Esc cancels a rename.
      await openList(page);
      await item.getByRole("button", { name: /^Rename/ }).click();
      await item.getByRole("textbox", { name: "Conversation title" }).fill("Not this");
      await item.getByRole("textbox", { name: "Conversation title" }).press("Escape");
      await expect(item.locator("a")).toHaveText("Haaland watch");

      await item.getByRole("button", { name: "Delete Haaland watch" }).click();
      await expect(page).toHaveURL(/\/$/);
      await openList(page);
      await expect(item).toHaveCount(0);
      const undo = page.locator("#undo-delete");
      await expect(undo).toContainText("Deleted “Haaland watch”");
      await page.screenshot({ path: `${shots}/undo-${device.name}.png` });
      await undo.getByRole("button", { name: "Undo" }).click();
      await expect(page).toHaveURL(new RegExp(`/c/${id}$`));
      await expect(page.locator("#conversation-title")).toHaveText("Haaland watch");
      await openList(page);
      await expect(item).toHaveCount(1);
    });

    test("search finds titles and message text, and opens the conversation", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "When is the next deadline?");
      const deadline = idOf(page);
      await page.goto("/");
      await hydrated(page);
      await ask(page, "Show the league table");
      await openList(page);
      const search = page.getByRole("searchbox", { name: "Search conversations" });
      await search.fill("deadl");
      const results = page.locator("#search-results");
      await expect(results.locator(`[data-conversation="${deadline}"]`)).toBeVisible();
      await expect(results.locator("li")).toHaveCount(1);
      await expect(results.locator(".search-snippet").first()).toContainText(/deadline/i);
      await page.screenshot({ path: `${shots}/search-${device.name}.png` });
      await results.locator("a").first().click();
      await expect(page).toHaveURL(new RegExp(`/c/${deadline}$`));
      // On a phone the list closes on navigation.
      if (device.name === "phone") await expect(page.locator("#sidebar")).toBeHidden();
      await openList(page);
      await search.fill("zzzqqq");
      await expect(page.locator("#search-empty")).toContainText("No conversation matches “zzzqqq”.");
      await search.press("Escape");
      await expect(search).toHaveValue("");
      await expect(page.locator("#conversation-list")).toBeVisible();
    });

    test("export as Markdown and as JSON with the tool calls", async ({ page }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "How is Haaland doing?");
      for (const [link, name] of [
        ["#export-markdown", "fpl-chat-how-is-haaland-doing.md"],
        ["#export-json", "fpl-chat-how-is-haaland-doing.json"],
      ]) {
        await page.locator("#export-menu summary").click();
        const [download] = await Promise.all([page.waitForEvent("download"), page.locator(link).click()]);
        expect(download.suggestedFilename()).toBe(name);
        const text = readFileSync((await download.path())!, "utf8");
        if (name.endsWith(".md")) {
          expect(text).toContain("# How is Haaland doing?");
          expect(text).toContain("<code>fpl_player_data</code> (ok)");
        } else {
          const json = JSON.parse(text);
          expect(json.messages[1].tool_calls[0].name).toBe("fpl_player_data");
          expect(json.messages[1].tool_calls[0].text).toContain("Haaland");
        }
      }
    });

    test("a share link is read-only for a stranger and stops working when revoked", async ({ page, browser }) => {
      await page.goto("/");
      await hydrated(page);
      await ask(page, "How is Haaland doing?");
      await page.locator("#share").click();
      const dialog = page.getByRole("dialog", { name: "Share this conversation" });
      await dialog.getByRole("button", { name: "Create link" }).click();
      const url = dialog.getByRole("textbox", { name: "Link" });
      await expect(url).toHaveValue(/\/s\/[A-Za-z0-9_-]{32}$/);
      await expect(dialog.locator("[data-shared-messages]")).toHaveText("Shows the first 2 messages.");
      await page.screenshot({ path: `${shots}/share-${device.name}.png` });
      const link = await url.inputValue();

      const stranger = await browser.newContext({ viewport: device.viewport });
      const other = await stranger.newPage();
      await other.goto(link);
      await hydrated(other);
      await expect(other.locator("#shared-title")).toHaveText("How is Haaland doing?");
      await expect(other.locator('[data-role="assistant"]')).toContainText("Haaland");
      await expect(other.locator('.tool-card[data-tool="fpl_player_data"]')).toBeVisible();
      for (const absent of ["#sidebar", "#composer", "#account", "#message-input"]) {
        await expect(other.locator(absent)).toHaveCount(0);
      }
      await other.screenshot({ path: `${shots}/shared-page-${device.name}.png`, fullPage: true });

      // Later messages are not shared until the link is updated.
      await dialog.getByRole("button", { name: "Close" }).click();
      await expect(dialog).toHaveCount(0);
      await ask(page, "And Salah?");
      await other.reload();
      await expect(other.locator('[data-role="user"]')).toHaveCount(1);
      await page.locator("#share").click();
      await dialog.getByRole("button", { name: "Update to the latest message" }).click();
      await expect(dialog.locator("[data-shared-messages]")).toHaveText("Shows the first 4 messages.");
      await expect(url).toHaveValue(link);
      await other.reload();
      await expect(other.locator('[data-role="user"]')).toHaveCount(2);

      await dialog.getByRole("button", { name: "Revoke link" }).click();
      await expect(dialog.getByRole("button", { name: "Create link" })).toBeVisible();
      const gone = await other.goto(link);
      expect(gone?.status()).toBe(404);
      await expect(other.locator("#not-found")).toContainText("does not exist or was revoked");
      await stranger.close();
    });
  });
}

test("phone: the conversation list has a backdrop and closes with Esc or a tap outside", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/");
  await hydrated(page);
  await page.locator("#menu").click();
  await expect(page.locator("#sidebar")).toBeVisible();
  await expect(page.locator("#sidebar-backdrop")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.locator("#sidebar")).toBeHidden();
  await page.locator("#menu").click();
  await page.locator("#sidebar-backdrop").click({ position: { x: 370, y: 400 } });
  await expect(page.locator("#sidebar")).toBeHidden();
  // Ctrl+K opens it with the cursor in the search field.
  await page.keyboard.press("Control+K");
  await expect(page.locator("#search")).toBeFocused();
});
