//! Who this process is among the replicas sharing one store: a name that is
//! unique per process start (host, process id, a random suffix), recorded on
//! every event claim (and lease) it takes, so logs and the store say which
//! replica handled what.

use std::sync::LazyLock;

static ID: LazyLock<String> = LazyLock::new(|| {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "switchyard".to_owned());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
});

/// This process's replica id.
pub fn id() -> &'static str {
    &ID
}
