// The official MCP TypeScript SDK client against an MCP server (FPL Chat's /mcp): initializes,
// lists the tools, calls one with good input, one with bad input and one unknown name, pings,
// and closes its session. Prints one JSON report on stdout; exits 1 on any protocol failure.
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
  await client.ping();
  const report = {
    server,
    protocolVersion: transport.protocolVersion ?? null,
    sessionId: transport.sessionId ?? null,
    tools: tools.map((t) => ({ name: t.name, inputSchema: t.inputSchema, hasDescription: !!t.description })),
    good: { isError: good.isError ?? false, text: text(good), structured: good.structuredContent ?? null },
    bad: { isError: bad.isError ?? false, text: text(bad) },
    unknown,
  };
  await transport.terminateSession().catch(() => {});
  await client.close();
  console.log(JSON.stringify(report));
} catch (e) {
  console.error(`MCP interop failure: ${e?.stack ?? e}`);
  process.exit(1);
}
