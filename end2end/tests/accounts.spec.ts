import { expect, test, type Page } from "@playwright/test";

// Sign up, log out, log in from the sidebar's account panel.

async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

async function fill(page: Page, email: string, password: string) {
  await page.locator("#account-email").fill(email);
  await page.locator("#account-password").fill(password);
}

test("sign up keeps the conversation, log out and log in again", async ({ page }) => {
  const email = `fan-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  await page.goto("/");
  await hydrated(page);
  await page.locator("#message-input").fill("Show the league table");
  await page.locator("#message-input").press("Enter");
  await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute("data-streaming", "false");
  await expect(page).toHaveURL(/\/c\//);

  await fill(page, email, "correct horse battery");
  await page.locator("#sign-up").click();
  const signedIn = page.locator('#account [data-signed-in="true"]');
  await expect(signedIn).toContainText(email);
  await expect(signedIn.locator("[data-tier]")).toHaveText("default");
  // The anonymous conversation now belongs to the account.
  await expect(page.locator("#conversation-list")).toContainText("Show the league table");

  await page.locator("#log-out").click();
  await expect(page.locator('#account [data-signed-in="false"]')).toBeVisible();
  await expect(page.locator("#conversation-list")).toHaveCount(0);

  await hydrated(page);
  await fill(page, email, "not the password");
  await page.locator("#log-in").click();
  await expect(page.locator("#account-error")).toContainText("incorrect");

  await fill(page, email, "correct horse battery");
  await page.locator("#log-in").click();
  await expect(signedIn).toContainText(email);
  await expect(page.locator("#conversation-list")).toContainText("Show the league table");
});
