//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds `../migrations/` at
//! compile time, and stable Rust cannot tell Cargo about files a proc macro reads.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
