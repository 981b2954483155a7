//! The Dockerfile's build stage, checked without a Docker engine: its dependency
//! layer (every instruction before `COPY . .`) is replayed in a temporary
//! directory: the files it copies, then its `RUN` steps through its own `SHELL`,
//! so the stubs are the ones the Dockerfile makes, not a list kept here.
//!
//! What runs instead of `cargo build --release --locked`: `cargo fetch
//! --locked --offline`. That is the step that failed: like `build`, `fetch`
//! reads every target the manifest declares and checks the lock file before
//! anything else (`cargo metadata` does not: it lists a missing bench file
//! without complaint), and it costs well under a second. A real release build of the
//! dependencies takes many minutes on the 2-core CI machine, and a `cargo check`
//! in a second target directory would recompile every dependency too (another
//! feature set than the tests'); compiling them is already proven by the test
//! build itself, from the same Cargo.lock. The later `RUN` (after `COPY . .`)
//! builds the real tree, which is the tree these tests were built from.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Instructions as Docker reads them: comment lines dropped, continuation lines
/// joined; each is (KEYWORD, arguments).
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                let text = std::mem::take(&mut current);
                if let Some((keyword, args)) = text.trim().split_once(char::is_whitespace) {
                    out.push((keyword.to_ascii_uppercase(), args.trim().to_owned()));
                }
            }
        }
    }
    out
}

/// The dependency layer of the stage named `build`: its instructions up to
/// `COPY . .`.
fn dependency_layer(dockerfile: &str) -> Vec<(String, String)> {
    let all = instructions(dockerfile);
    let start = all
        .iter()
        .position(|(k, a)| k == "FROM" && a.to_ascii_lowercase().ends_with(" as build"))
        .expect("the Dockerfile has a stage named build");
    all[start + 1..]
        .iter()
        .take_while(|(k, a)| k != "FROM" && !(k == "COPY" && a == ". ."))
        .cloned()
        .collect()
}

/// A `cargo` for the replay: logs its arguments, and answers `build` with the
/// manifest-and-lock check described at the top of this file.
fn cargo_shim(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("cargo");
    std::fs::write(
        &shim,
        r#"#!/bin/sh
echo "cargo $*" >> "$SHIM_LOG"
if [ "$1" = build ]; then
  locked=""
  for arg in "$@"; do [ "$arg" = --locked ] && locked=--locked; done
  exec "$REAL_CARGO" fetch --offline $locked
fi
exec "$REAL_CARGO" "$@"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Replays the dependency layer of `dockerfile` in a fresh directory; returns
/// the cargo commands it ran, or what failed.
fn replay_dependency_layer(dockerfile: &str) -> Result<Vec<String>, String> {
    let scratch = tempfile::tempdir().unwrap();
    let context = scratch.path().join("src");
    std::fs::create_dir_all(&context).unwrap();
    let bin = cargo_shim(scratch.path());
    let log = scratch.path().join("cargo.log");
    std::fs::write(&log, "").unwrap();
    let mut shell: Vec<String> = vec!["/bin/sh".into(), "-c".into()];
    for (keyword, args) in dependency_layer(dockerfile) {
        match keyword.as_str() {
            "SHELL" => shell = serde_json::from_str(&args).expect("SHELL is a JSON array"),
            "COPY" => {
                let words: Vec<&str> = args.split_whitespace().collect();
                let (sources, _) = words.split_at(words.len() - 1);
                for source in sources {
                    std::fs::copy(Path::new(ROOT).join(source), context.join(source))
                        .map_err(|e| format!("COPY {source}: {e}"))?;
                }
            }
            "RUN" => {
                let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
                let out = Command::new(&shell[0])
                    .args(&shell[1..])
                    .arg(&args)
                    .current_dir(&context)
                    .env("PATH", path)
                    .env("SHIM_LOG", &log)
                    .env(
                        "REAL_CARGO",
                        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
                    )
                    .output()
                    .unwrap();
                if !out.status.success() {
                    return Err(format!(
                        "RUN {args}\nfailed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            _ => {} // WORKDIR, ENV, ARG: the scratch directory stands for WORKDIR.
        }
    }
    Ok(std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect())
}

#[test]
fn the_dockerfile_dependency_layer_stubs_every_target_the_manifest_declares() {
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let ran = replay_dependency_layer(&dockerfile).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ran.iter().any(|c| c == "cargo build --release --locked"),
        "the dependency layer builds the dependencies in release; it ran {ran:?}"
    );
}

#[test]
fn a_dependency_layer_that_stubs_only_some_targets_is_caught() {
    // The layer as it was: two of the six bench and test targets stubbed.
    let old = r#"
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches tests/it \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > benches/parse.rs && touch tests/it/main.rs \
 && cargo build --release --locked
COPY . .
"#;
    let error = replay_dependency_layer(old).expect_err("cargo refuses the manifest");
    assert!(error.contains("can't find"), "{error}");
}

#[test]
fn the_image_checks_its_health_through_the_healthcheck_subcommand() {
    let dockerfile = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let health = instructions(&dockerfile)
        .into_iter()
        .find(|(k, _)| k == "HEALTHCHECK")
        .expect("the image declares a HEALTHCHECK");
    assert!(
        health.1.contains(r#"["switchyard", "healthcheck"]"#),
        "{health:?}"
    );
}

/// Runs `switchyard healthcheck` with `config`: (exit code, stdout).
fn healthcheck(config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(config)
        .arg("healthcheck")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_healthcheck_asks_healthz_where_run_serves_it_and_fails_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("switchyard.toml");
    std::fs::write(
        &config,
        switchyard::config::DEMO_TOML.replace(
            "# listen = \"127.0.0.1:8080\"",
            &format!("listen = \"0.0.0.0:{port}\""),
        ),
    )
    .unwrap();
    let (code, said) = healthcheck(&config);
    assert_eq!(code, 1, "nothing listens yet: {said}");
    assert!(said.contains("did not answer"), "{said}");

    let mut agent = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let healthy = loop {
        let (code, said) = healthcheck(&config);
        if code == 0 || std::time::Instant::now() > deadline {
            break (code, said);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(healthy.0, 0, "{}", healthy.1);
    assert!(
        healthy
            .1
            .contains(&format!("http://127.0.0.1:{port}/healthz")),
        "{}",
        healthy.1
    );
}

#[test]
fn without_http_listen_the_healthcheck_is_a_valid_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchyard.toml");
    std::fs::write(&config, switchyard::config::DEMO_TOML).unwrap();
    let (code, said) = healthcheck(&config);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("no http.listen"), "{said}");
    std::fs::write(&config, "[bot]\nnmae = 1\n").unwrap();
    assert_eq!(healthcheck(&config).0, 1);
}
