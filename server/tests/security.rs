//! Security: one test per attack on a public deployment (issue 11), each against the real
//! server (`spawn_app`), real Redis and a real database. The attacks are grouped by what they
//! aim at; each group is a module of its own.
mod common;

/// Identities: the cookie key (shared, stable, rotated), cross-site requests, client IPs,
/// response headers and cookie attributes.
#[path = "security/identity.rs"]
mod identity;
/// Inputs that could starve the server: huge tool inputs over `/mcp` and in chat messages.
#[path = "security/inputs.rs"]
mod inputs;
/// `/mcp` limits and authentication; `/readyz` and redacted URLs.
#[path = "security/mcp_ops.rs"]
mod mcp_ops;
/// The operator's money and the owner's account: token budgets, turn caps, log-in limits.
#[path = "security/money.rs"]
mod money;
