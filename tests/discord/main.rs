//! The Discord scenarios, as a test binary of their own: they run the real
//! serenity client and the stand-in on tokio's paused clock, where virtual
//! time moves whenever the runtime idles, so they run after the main suite
//! (cargo runs test binaries one at a time) rather than beside two hundred
//! other tests competing for the two cores.

#[path = "../it/databases.rs"]
#[allow(dead_code)]
mod databases;
#[path = "../it/discord_fake/mod.rs"]
#[allow(dead_code, unused_imports)]
mod discord_fake;
mod replicas;
mod scenarios;
