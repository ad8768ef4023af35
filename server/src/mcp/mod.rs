//! MCP both ways: [`server`] serves the FPL tools at `/mcp` for any MCP client.
pub mod server;
