//! MCP both ways: [`server`] serves the FPL tools at `/mcp` for any MCP client; [`sessions`]
//! keeps the records of the client sessions this app holds with a remote MCP server; [`client`]
//! is the session manager (rmcp client, validation, heartbeats, recovery); [`remote`] offers a
//! remote server's tools to the tool loop; [`guard`] (rate limit, token, session cap) and
//! [`capped`] (the session cap) protect `/mcp`.
pub mod capped;
pub mod client;
pub mod guard;
pub mod remote;
pub mod server;
pub mod sessions;
