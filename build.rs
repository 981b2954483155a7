//! Rebuilds when an embedded file changes: `include_dir!` (intents/, prompts/) and
//! `sqlx::migrate!` (migrations/) read directories, but on stable Rust they cannot
//! tell cargo which files they read.
fn main() {
    println!("cargo:rerun-if-changed=intents");
    println!("cargo:rerun-if-changed=config/demo.toml");
    println!("cargo:rerun-if-changed=prompts");
    println!("cargo:rerun-if-changed=migrations/sqlite");
    println!("cargo:rerun-if-changed=migrations/postgres");
}
