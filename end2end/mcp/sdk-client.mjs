// The official MCP TypeScript SDK client against an MCP server (FPL Chat's /mcp): initializes,
// lists the tools, calls one with good input, one with bad input and one unknown name, calls
// every tool that declares an outputSchema (the SDK itself then validates the structured
// content against that schema and throws when it does not match), pings, and closes its
// session. Prints one JSON report on stdout; exits 1 on any protocol failure.
// Usage: node end2end/mcp/sdk-client.mjs http://127.0.0.1:3000/mcp
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.argv[2];
if (!url) {
  console.error("usage: sdk-client.mjs MCP_URL");
  process.exit(2);
}

const text = (result) => (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");

try {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: "fpl-chat-interop", version: "1.0.0" });
  await client.connect(transport);
  const server = client.getServerVersion();
  const { tools } = await client.listTools();
  const good = await client.callTool({ name: "fpl_player_data", arguments: { playerQuery: "Haaland" } });
  const bad = await client.callTool({ name: "fpl_player_data", arguments: { teamId: "one" } });
  let unknown;
  try {
    const result = await client.callTool({ name: "fpl_no_such_tool", arguments: {} });
    unknown = { isError: result.isError ?? false, text: text(result) };
  } catch (e) {
    unknown = { protocolError: String(e.message ?? e) };
  }
  // Arguments for the typed tools on the shared GW7 snapshot (entries and league of SOURCES.md).
  const typedCalls = {
    fpl_league_data: { category: "cards", position: "DEF", maxPrice: 5.5, limit: 5 },
    fpl_get_gameweek: { gameweekId: 7, includeFixtures: true },
    fpl_fixture_difficulty: { teamQuery: "all", range: 4, position: "FWD" },
    fpl_player_data: { playerQuery: "Salah", includeHistory: true, includeFixtures: true },
    fpl_team_data: { teamQuery: "Arsenal", includeFixtures: true, includePlayers: true, includeForm: true },
    fpl_fixture_data: { teamQuery: "Liverpool", range: "previous", includeStats: true, limit: 3 },
    fpl_form_analysis: { entityType: "player", entityQuery: "Semenyo", timeframe: 3, compareWithPrevious: true },
    fpl_player_comparison: { playerQueries: ["Haaland", "Watkins"], includeFixtures: true, includeHistory: true },
    fpl_manager_team: { entryId: 1000002, gameweek: 6 },
    fpl_manager_history: { entryId: 84062 },
    fpl_mini_league: { leagueId: 900001, entryId: 1000003 },
    fpl_live_gameweek: { entryId: 84062, limit: 5 },
    fpl_dream_team: { season: true },
    fpl_price_changes: { position: "MID", limit: 5 },
    fpl_captain_pick: { entryId: 1000001 },
    fpl_transfer_suggestions: { entryId: 1000004, horizon: 4 },
  };
  const typed = [];
  for (const t of tools.filter((t) => t.outputSchema)) {
    const args = typedCalls[t.name] ?? {};
    try {
      const r = await client.callTool({ name: t.name, arguments: args });
      typed.push({ name: t.name, isError: r.isError ?? false, validated: true, structured: r.structuredContent ?? null });
    } catch (e) {
      typed.push({ name: t.name, validated: false, error: String(e.message ?? e) });
    }
  }
  // An error of a typed tool: no structured content, so nothing to fail validation.
  const typedError = await client.callTool({ name: "fpl_manager_team", arguments: { entryId: 1000005 } });
  await client.ping();
  const report = {
    server,
    protocolVersion: transport.protocolVersion ?? null,
    sessionId: transport.sessionId ?? null,
    tools: tools.map((t) => ({ name: t.name, inputSchema: t.inputSchema, outputSchema: t.outputSchema ?? null, hasDescription: !!t.description })),
    good: { isError: good.isError ?? false, text: text(good), structured: good.structuredContent ?? null },
    bad: { isError: bad.isError ?? false, text: text(bad) },
    unknown,
    typed,
    typedError: { isError: typedError.isError ?? false, text: text(typedError), structured: typedError.structuredContent ?? null },
  };
  await transport.terminateSession().catch(() => {});
  await client.close();
  console.log(JSON.stringify(report));
} catch (e) {
  console.error(`MCP interop failure: ${e?.stack ?? e}`);
  process.exit(1);
}
