import { expect, type Page } from "@playwright/test";

/** Waits for the WASM to hydrate the page (an attribute only an effect sets). */
export async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

/** Types a question and sends it with Enter. */
export async function ask(page: Page, question: string) {
  await page.locator("#message-input").fill(question);
  await page.locator("#message-input").press("Enter");
}

export const lastAnswer = (page: Page) => page.locator('[data-role="assistant"]').last();

/** The viewports each feature is tried on. */
export const devices = [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
];
