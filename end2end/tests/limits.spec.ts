import { expect, test } from "@playwright/test";

// An instance with a tight anonymous limit (2 questions per 10 s): the third question is
// refused with the tier's message, the question goes back into the composer, which counts
// down; then "Retry" sends it again.

test("over the limit the composer counts down and then sends again", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  const input = page.locator("#message-input");
  const last = () => page.locator('[data-role="assistant"]').last();
  for (const question of ["When is the next deadline?", "Show the league table"]) {
    await input.fill(question);
    await input.press("Enter");
    await expect(last()).toHaveAttribute("data-streaming", "false");
  }
  await input.fill("How is Haaland doing?");
  await input.press("Enter");
  await expect(last().locator('[role="alert"]')).toContainText("Sign in for a higher limit");
  const countdown = page.locator("#cooldown");
  await expect(countdown).toContainText(/ask again in \d+ s/);
  await expect(input).toBeDisabled();
  // Nothing is lost: the refused question is back in the composer.
  await expect(input).toHaveValue("How is Haaland doing?");
  const retry = page.getByRole("button", { name: "Retry" });
  await expect(retry).toBeDisabled();
  await expect(countdown).toBeHidden({ timeout: 12_000 });
  await expect(input).toBeEnabled();
  await retry.click();
  await expect(last()).toHaveAttribute("data-streaming", "false");
  await expect(last()).toContainText("Haaland");
  await expect(input).toHaveValue("");
  await expect(input).toBeFocused();
});
