#![recursion_limit = "512"]
//! FPL Chat server: an axum + Leptos application in which people ask about Fantasy Premier
//! League and an assistant answers by calling FPL tools.
//!
//! Modules are named after the features they hold: `accounts` (sign-up, log-in, sessions), `http` (routes, identity, operations
//! endpoints), `chat` (one turn and its tool loop), `llm` (model providers), `tools` (the tool
//! backend seam and the built-in FPL tools), `mcp` (MCP server and client), `fpl` (FPL data), `context` (tokens, history, compression), `cache` (the
//! layered cache: process in front of Redis),
//! `store` (PostgreSQL or SQLite), `rate_limit`, `metrics`, `pages` (what the UI's server functions do),
//! `config` and `startup`; `testkit` holds the test stand-ins the server never uses.
pub mod accounts;
pub mod cache;
pub mod chat;
pub mod cli;
pub mod config;
pub mod context;
pub mod fpl;
pub mod http;
pub mod llm;
pub mod logging;
pub mod mcp;
pub mod metrics;
pub mod pages;
pub mod rate_limit;
pub mod redis_conn;
pub mod retention;
pub mod startup;
pub mod store;
pub mod testkit;
pub mod tools;
pub mod visuals;
