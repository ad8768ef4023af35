//! Test support shipped with the crate so that integration tests, the browser tests and
//! benchmarks share it: [`claude::ClaudeStandIn`], a stand-in for Claude's Messages API. The
//! server itself never uses this module.
pub mod claude;
