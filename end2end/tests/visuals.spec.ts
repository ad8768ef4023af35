import { expect, test, type Page } from "@playwright/test";

// Pictures on tool cards (server-rendered SVG / HTML): on a desktop, on a phone, in the dark
// theme and without JavaScript. Screenshots go to test-results/visuals/ to be looked at.

async function hydrated(page: Page) {
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
}

async function ask(page: Page, question: string) {
  await page.locator("#message-input").fill(question);
  await page.locator("#message-input").press("Enter");
  await expect(page.locator('[data-role="assistant"]').last()).toHaveAttribute("data-streaming", "false");
}

const shot = (name: string) => ({ path: `test-results/visuals/${name}.png` });
const lastAnswer = (page: Page) => page.locator('[data-role="assistant"]').last();

test("a manager's squad is drawn on a pitch, with the raw answer one click away", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto("/");
  await hydrated(page);
  await ask(page, "Analyse my team 1000001");
  const figure = lastAnswer(page).locator('.tool-visual figure[data-viz="pitch"]');
  await expect(figure).toBeVisible();
  await expect(figure.locator("svg title")).toContainText("Mälaren Mavericks, gameweek 7: 64 points");
  await expect(figure.locator("rect.viz-chip")).toHaveCount(15);
  await expect(figure.locator("text.viz-badge-text", { hasText: "C" })).toHaveCount(1);
  // Accessible: the SVG is an image labelled by its title and description.
  await expect(figure.locator("svg")).toHaveAttribute("role", "img");
  await expect(figure.locator("svg desc")).toContainText("Haaland 16 (captain)");
  // The raw input and answer are one click away.
  const card = lastAnswer(page).locator('.tool-card[data-tool="fpl_manager_team"]');
  await expect(card.locator(".tool-result")).toBeHidden();
  await card.locator("summary").click();
  await expect(card.locator(".tool-result")).toContainText("Mälaren Mavericks");
  await figure.screenshot(shot("desktop-pitch"));

  await ask(page, "How is league 900001 going?");
  const league = lastAnswer(page).locator('.tool-visual figure[data-viz="league"]');
  await expect(league.locator("tbody tr")).toHaveCount(6);
  await expect(league.locator(".viz-up")).not.toHaveCount(0);
  await expect(league.locator("caption")).toContainText("Offline Test League");
  await league.screenshot(shot("desktop-league"));

  await ask(page, "Who should I captain? My team is 1000001");
  const captain = lastAnswer(page).locator('.tool-visual figure[data-viz="captain"]');
  await expect(captain.locator("svg title")).toContainText("Captain candidates for gameweek 8");
  await expect(captain.locator("rect.viz-part-0")).not.toHaveCount(0);
  await captain.screenshot(shot("desktop-captain"));

  await ask(page, "How is Haaland doing?");
  const bars = lastAnswer(page).locator('.tool-visual figure[data-viz="bars"]');
  await expect(bars.locator("rect.viz-bar")).toHaveCount(5);
  const strip = lastAnswer(page).locator('.tool-visual figure[data-viz="fdr"]');
  await expect(strip.locator("td.viz-fdr")).toHaveCount(5);
  await lastAnswer(page).locator(".tool-visual").first().screenshot(shot("desktop-player"));
});

test("on a phone the pictures fit the screen, and the dark theme recolours them", async ({ browser }) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: "dark",
  });
  const page = await context.newPage();
  await page.goto("/");
  await hydrated(page);
  await expect(page.locator("html")).toHaveClass(/dark/);
  await ask(page, "live points for team 84062");
  const figure = lastAnswer(page).locator('.tool-visual figure[data-viz="pitch"]');
  await expect(figure).toBeVisible();
  const box = (await figure.locator("svg").boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  // Dark pitch and dark shirts (the stylesheet's dark variant).
  const fills = await figure.evaluate((f) => ({
    pitch: getComputedStyle(f.querySelector(".viz-pitch-bg")!).fill,
    chip: getComputedStyle(f.querySelector(".viz-chip")!).fill,
  }));
  expect(fills.pitch).toBe("rgb(31, 77, 34)");
  expect(fills.chip).not.toBe("rgb(255, 255, 255)");
  await figure.screenshot(shot("phone-dark-pitch"));
  await ask(page, "which teams have the easiest fixtures for the next 4 gameweeks");
  const strip = lastAnswer(page).locator('.tool-visual figure[data-viz="fdr"]');
  await expect(strip.locator("tbody tr")).toHaveCount(20);
  await strip.screenshot(shot("phone-dark-fdr"));
  await context.close();
});

test("without JavaScript a stored conversation shows its pictures", async ({ page, browser }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "dream team of the week");
  await expect(lastAnswer(page).locator('figure[data-viz="pitch"]')).toBeVisible();
  await expect(page).toHaveURL(/\/c\//);
  const url = page.url();
  const cookies = await page.context().cookies();

  const context = await browser.newContext({ javaScriptEnabled: false });
  await context.addCookies(cookies);
  const plain = await context.newPage();
  await plain.goto(url);
  const figure = plain.locator('[data-role="assistant"] figure[data-viz="pitch"]');
  await expect(figure).toBeVisible();
  await expect(figure.locator("rect.viz-chip")).toHaveCount(11);
  await expect(figure.locator("svg title")).toContainText("Gameweek 7 dream team");
  await figure.screenshot(shot("no-js-dream-team"));
  await context.close();
});

// A reloaded page keeps the tool cards' pictures and raw answers through hydration, a new
// question asked on it, and the conversation loaded again after that answer (a build that left
// them out of the hydration data, since the HTML carries them, lost the picture here).
test("a reloaded conversation keeps its pictures and raw answers as it goes on", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await ask(page, "How is league 900001 going?");
  await expect(page).toHaveURL(/\/c\//);
  await page.reload();
  await hydrated(page);
  const first = page.locator('[data-role="assistant"]').first();
  const league = first.locator('.tool-visual figure[data-viz="league"]');
  await expect(league.locator("tbody tr")).toHaveCount(6);
  const card = first.locator('.tool-card[data-tool="fpl_mini_league"]');
  await card.locator("summary").click();
  await expect(card.locator(".tool-result")).toContainText("Offline Test League");

  await ask(page, "How is Haaland doing?");
  await expect(page.locator('[data-role="assistant"]')).toHaveCount(2);
  await expect(lastAnswer(page).locator('.tool-visual figure[data-viz="bars"] rect.viz-bar')).toHaveCount(5);
  // The first answer, drawn before the question and again once the conversation is loaded
  // after the answer, still has its picture and its raw answer.
  await expect(league.locator("tbody tr")).toHaveCount(6);
  await expect(card.locator(".tool-result")).toContainText("Offline Test League");
  await expect(first.locator(".tool-visual")).not.toBeEmpty();
});
