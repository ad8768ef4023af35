import { expect, test, type APIRequestContext } from "@playwright/test";

// A conversation of 200 turns, each answered with FPL tool calls, never hits a wall: its
// context is compressed for the model (summary, shortened tool results) while the whole
// history stays on the page. The first 199 turns go through POST /api/chat with the browser's
// own cookie (the same visitor); the 200th is asked in the page.

const QUESTIONS = [
  "How is Haaland doing?",
  "Compare Salah and Saka",
  "Who has the easiest fixtures for the next five gameweeks?",
  "Show me Arsenal's fixtures",
  "Who is in form?",
  "When is the next deadline?",
  "What is the league table?",
  "How is Palmer doing?",
];

type Event = { name: string; data: any };

function parseSse(text: string): Event[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const name = block.match(/^event: (.*)$/m)?.[1] ?? "";
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      return { name, data: data ? JSON.parse(data) : null };
    });
}

async function turn(request: APIRequestContext, message: string, conversationId: string | null) {
  const response = await request.post("/api/chat", {
    data: { message, conversation_id: conversationId },
  });
  expect(response.status()).toBe(200);
  return parseSse(await response.text());
}

test("a 200-turn conversation with tool calls keeps working", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("/");
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");

  let conversation: string | null = null;
  let compressedTurns = 0;
  for (let i = 0; i < 199; i++) {
    const events = await turn(page.request, `${QUESTIONS[i % QUESTIONS.length]} (${i + 1})`, conversation);
    conversation ??= events[0].data.conversation_id;
    const context = events.find((e) => e.name === "context")!.data;
    expect(context.tokens).toBeLessThanOrEqual(context.limit);
    if (context.compressed) compressedTurns++;
    expect(events.some((e) => e.name === "tool_result" && e.data.ok)).toBe(true);
    expect(events.at(-1)!.name).toBe("done");
    expect(events.some((e) => e.name === "error")).toBe(false);
  }
  expect(compressedTurns).toBeGreaterThan(0);
  // Named by its topics once the second question brought more of them.
  await page.goto("/");
  await expect(page.locator("#conversation-list")).toContainText("Haaland, M.Salah, Saka");

  await page.goto(`/c/${conversation}`);
  await expect(page.locator("#app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator('[data-role="user"]')).toHaveCount(199);
  await page.locator("#message-input").fill("How is Haaland doing? (200)");
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/chat"));
  await page.locator("#message-input").press("Enter");
  const last = page.locator('[data-role="assistant"]').last();
  await expect(last.locator('.tool-card[data-tool="fpl_player_data"]')).toHaveAttribute(
    "data-state",
    "done",
  );
  await expect(last).toHaveAttribute("data-streaming", "false");
  await expect(last).toContainText("Haaland");
  await expect(page.locator("#context-meter")).toContainText(/\/ 100\.0k tokens/);
  // The notice says exactly what the turn's context event said (whether this turn had to
  // compress depends on where the conversation stands against the budget).
  const events = parseSse(await (await answered).text());
  const context = events.find((e) => e.name === "context")!.data;
  expect(context.tokens).toBeLessThanOrEqual(context.limit);
  if (context.compressed) {
    await expect(page.locator("#context-compressed")).toBeVisible();
  } else {
    await expect(page.locator("#context-compressed")).toHaveCount(0);
  }

  // The whole history is still on the page, also after a reload.
  await page.reload();
  await expect(page.locator('[data-role="user"]')).toHaveCount(200);
  await expect(page.locator('[data-role="assistant"]')).toHaveCount(200);
  await expect(page.locator('[data-role="user"]').first()).toContainText("How is Haaland doing? (1)");
});
