import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { ask, devices, hydrated, lastAnswer } from "./helpers";

// axe-core on the pages people use, on a desktop and on a phone, in the light and the dark
// theme: no serious or critical violation (WCAG 2.1 A and AA rules).

async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
}

for (const device of devices) {
  for (const theme of ["light", "dark"] as const) {
    test(`${device.name} ${theme}: the chat has no serious accessibility violation`, async ({ page }) => {
      await page.setViewportSize(device.viewport);
      await page.emulateMedia({ colorScheme: theme });
      await page.goto("/");
      await hydrated(page);
      expect(await violations(page), "the empty chat").toEqual([]);

      await ask(page, "How is Haaland doing?");
      await expect(lastAnswer(page)).toHaveAttribute("data-streaming", "false");
      expect(await violations(page), "an answer with its tool card").toEqual([]);

      // Versions: a regenerated answer with its pager, and a question's edit box.
      await page.getByRole("button", { name: "↻ Regenerate" }).click();
      await expect(page.locator(".version-pager")).toContainText("2 / 2");
      await page.locator(".edit-question summary").first().click();
      await expect(page.getByRole("textbox", { name: "Edited question" })).toBeVisible();
      expect(await violations(page), "versions and the edit box").toEqual([]);
      await page.locator(".edit-question summary").first().click();

      if (device.name === "phone") {
        await page.locator("#menu").click();
        await expect(page.locator("#sidebar")).toBeVisible();
        expect(await violations(page), "the open conversation list").toEqual([]);
        await page.keyboard.press("Escape");
      }
      await page.locator("#share").click();
      await page.getByRole("button", { name: "Create link" }).click();
      await expect(page.locator("#share-url")).toBeVisible();
      expect(await violations(page), "the share dialog").toEqual([]);
      const link = await page.locator("#share-url").inputValue();
      await page.goto(link);
      await hydrated(page);
      expect(await violations(page), "the shared page").toEqual([]);
    });
  }
}
