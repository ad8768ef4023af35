//! Test support shipped with the crate so that integration tests, the browser tests and
//! benchmarks share it: [`claude::ClaudeStandIn`], a stand-in for Claude's Messages API, and
//! [`message::stored`], a stored message without a database, and [`redis`], the single node and the cluster every Redis-backed suite runs on. The server
//! itself never uses this module.
pub mod claude;
pub mod message;
pub mod redis;
