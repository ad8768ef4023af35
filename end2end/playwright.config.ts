import { defineConfig } from "@playwright/test";

// The servers are started by scripts/test (release binary, scratch directory): BASE_URL is the
// app with the offline analyst, CLAUDE_APP_URL the app answering through Claude's Messages API
// (the project's stand-in for it, `claude-stand-in`), MCP_APP_URL an app whose tools come from
// the first app's /mcp (a remote MCP server), LIMITED_APP_URL an app with a tight anonymous
// rate limit, LONG_APP_URL an offline app with limits loose enough for a 200-turn conversation,
// UX_APP_URL an offline app with loose limits at the default streaming pace (the chat's features).
// LB_APP_URL, set by scripts/e2e-lb, is HAProxy round-robin in front of two instances sharing
// one PostgreSQL and one Redis; its project exists only when it is set.
export default defineConfig({
  testDir: "./tests",
  projects: [
    {
      name: "offline",
      testIgnore: /(claude|mcp|limits|long|load-balancer|conversations|reading|accessibility|versions|reattach)\.spec\.ts/,
    },
    {
      name: "ux",
      testMatch: /(conversations|reading|accessibility|versions|reattach)\.spec\.ts/,
      use: { baseURL: process.env.UX_APP_URL ?? "http://127.0.0.1:3006" },
    },
    {
      name: "claude",
      testMatch: /claude\.spec\.ts/,
      use: { baseURL: process.env.CLAUDE_APP_URL ?? "http://127.0.0.1:3002" },
    },
    {
      name: "limits",
      testMatch: /limits\.spec\.ts/,
      use: { baseURL: process.env.LIMITED_APP_URL ?? "http://127.0.0.1:3004" },
    },
    {
      name: "long",
      testMatch: /long\.spec\.ts/,
      use: { baseURL: process.env.LONG_APP_URL ?? "http://127.0.0.1:3005" },
    },
    {
      name: "mcp",
      testMatch: /mcp\.spec\.ts/,
      use: { baseURL: process.env.MCP_APP_URL ?? "http://127.0.0.1:3003" },
    },
    ...(process.env.LB_APP_URL
      ? [{ name: "lb", testMatch: /load-balancer\.spec\.ts/, use: { baseURL: process.env.LB_APP_URL } }]
      : []),
  ],
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
