//! See security.rs.
