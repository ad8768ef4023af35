import { expect, test } from "@playwright/test";

// The page runs under a Content-Security-Policy without 'unsafe-inline' for scripts: the
// theme script and Leptos's hydration scripts carry the response's nonce. This proves the page
// still hydrates and streams under it, with no violation reported.
test("the page hydrates and streams under its CSP with no violation", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    const text = message.text();
    if (/Content.Security.Policy|Refused to (execute|load|apply|connect)/i.test(text)) {
      violations.push(text);
    }
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`Content-Security-Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const response = await page.goto("/");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toMatch(/script-src 'self' 'nonce-[0-9a-f]{32}'/);
  expect(csp).not.toContain("unsafe-inline'; style"); // scripts: only style-src may be inline
  expect(csp.split(";").find((d) => d.trim().startsWith("script-src"))).not.toContain("unsafe-inline");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  // The theme script ran before paint (it reads the stored choice).
  await page.locator("#theme-toggle").click();
  const dark = await page.evaluate(() => document.documentElement.classList.contains("dark"));
  await page.reload();
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  expect(await page.evaluate(() => document.documentElement.classList.contains("dark"))).toBe(dark);
  // A streamed answer with a tool card.
  await page.locator("#message-input").fill("How is Haaland doing?");
  await page.locator("#message-input").press("Enter");
  const answer = page.locator('[data-role="assistant"]').last();
  await expect(answer.locator('.tool-card[data-tool="fpl_player_data"]')).toHaveAttribute("data-state", "done");
  await expect(answer).toHaveAttribute("data-streaming", "false");
  await expect(answer).toContainText("Haaland");
  expect(violations).toEqual([]);
});

test("the page cannot be framed", async ({ page }) => {
  const response = await page.request.get("/");
  expect(response.headers()["x-frame-options"]).toBe("DENY");
  expect(response.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
});
