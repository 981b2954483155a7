//! The benchmarks the README quotes run as written on a fresh machine: criterion
//! is built without its plot backend, which drew text with fonts such a machine
//! does not have (`cargo bench --bench parse` panicked with
//! `FontError(FontUnavailable)` after its first result).

#[test]
fn the_benchmarks_build_criterion_without_the_plot_backend_that_needs_fonts() {
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let criterion = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["id"].as_str().unwrap().contains("criterion@"))
        .expect("criterion is a dev-dependency");
    let features: Vec<&str> = criterion["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert!(
        !features.contains(&"plotters"),
        "criterion draws plots with fonts a fresh machine lacks: {features:?}"
    );
}
