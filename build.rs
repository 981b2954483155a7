//! Rebuilds when a grammar file changes: `include_dir!` embeds `intents/`, but on
//! stable Rust it cannot tell cargo which files it read.
fn main() {
    println!("cargo:rerun-if-changed=intents");
    println!("cargo:rerun-if-changed=config/demo.toml");
}
