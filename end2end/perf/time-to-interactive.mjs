// Time to interactive of a running FPL Chat in Debian's Chromium: for each run a new browser
// context (nothing cached) opens the page and waits until the app says it is hydrated
// (`#app[data-hydrated=true]`, set by an effect, which runs only in the browser). Prints the
// medians of first contentful paint (the server's HTML on screen: the baseline of the same
// run) and of hydration, both from the start of the navigation, and the WASM's size on the wire.
//
//   cd end2end && node perf/time-to-interactive.mjs http://127.0.0.1:3000/ [runs=7]
//
// From `end2end/`, whose node_modules hold Playwright; against a release build
// (`scripts/run`); it measures, it asserts nothing.
import { chromium } from "@playwright/test";

const url = process.argv[2] ?? "http://127.0.0.1:3000/";
const runs = Number(process.argv[3] ?? 7);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const paints = [];
const hydrations = [];
let wasm = null;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector("#app[data-hydrated=true]", { timeout: 30_000 });
  const hydrated = await page.evaluate(() => performance.now());
  const timing = await page.evaluate(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const module = performance
      .getEntriesByType("resource")
      .find((r) => r.name.endsWith(".wasm"));
    return {
      paint: paint ? paint.startTime : NaN,
      wasm: module ? { wire: module.encodedBodySize, size: module.decodedBodySize } : null,
    };
  });
  paints.push(timing.paint);
  hydrations.push(hydrated);
  wasm = timing.wasm;
  await context.close();
}
await browser.close();

const ms = (x) => `${x.toFixed(0)} ms`;
console.log(`${url}, ${runs} runs, each in a new context`);
console.log(`first contentful paint: median ${ms(median(paints))} (${paints.map(ms).join(", ")})`);
console.log(`hydrated:               median ${ms(median(hydrations))} (${hydrations.map(ms).join(", ")})`);
if (wasm) {
  console.log(`wasm: ${wasm.wire} B on the wire, ${wasm.size} B decoded`);
}
