import { expect, test } from "@playwright/test";

// An app whose FPL tools come from a remote MCP server (another instance's /mcp).

test("a chat whose tools come from a remote MCP server works", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await page.locator("#message-input").fill("How is Haaland doing?");
  await page.locator("#message-input").press("Enter");
  const answer = page.locator('[data-role="assistant"]').last();
  const card = answer.locator('.tool-card[data-tool="fpl_player_data"]');
  await expect(card).toHaveAttribute("data-state", "done");
  await expect(answer).toHaveAttribute("data-streaming", "false");
  await expect(answer).toContainText("Haaland");
  await expect(answer).toContainText("£");
  const ready = await page.request.get("/readyz");
  expect((await ready.json()).mcp).toBe("ok");
});
