//! Parse throughput over a mixed set of chat messages: commands in the forms
//! people type them, near misses, and hostile input. Run with `cargo bench --bench
//! parse`; the README quotes the `mixed` figure as messages per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchyard::config::Config;
use switchyard::intent::Grammar;

const ACCEPTED: &[&str] = &[
    "Deploy version 1.3.0 to prd using blue-green",
    "Rollback prd to previous version",
    "Promote version 1.3.0 from tst to prd",
    "Show deployment metrics for last 7 days",
    "Deployment failed - how do I troubleshoot?",
    "Show deployment history for prd",
    "<@123456789012345678> deploy v1.3.0 to production --dry-run",
    "@switchyard can you please promote 1.3.0 from staging to live using canary, thanks!",
    "hotfix 1.3.1 to prd",
    "ship main-a1b2c3d-20250823143022 to dev",
    "what's running on prod?",
    "approve #42",
    "deny #42 because the error budget is spent",
    "lock prd because incident INC-1234",
    "status",
    "help promote",
];

const REFUSED: &[&str] = &[
    "deploy 1.3.0; rm -rf / to prd",
    "deploy $(curl x) to prd",
    "promte 1.3.0 from tst to prd",
    "deploy 1.3.0 to prdd",
    "promote 1.3.0 to prd",
    "@everyone deploy 1.3.0 to prd",
    "lunch anyone?",
    "deploy 1.3.0 to prd and tst",
];

fn grammar() -> Grammar {
    Grammar::for_config(&Config::demo()).expect("the embedded grammar builds")
}

fn throughput(c: &mut Criterion) {
    let g = grammar();
    let mixed: Vec<&str> = ACCEPTED.iter().chain(REFUSED).copied().collect();
    let mut group = c.benchmark_group("parse");
    for (name, set) in [
        ("mixed", &mixed[..]),
        ("accepted", ACCEPTED),
        ("refused", REFUSED),
    ] {
        group.throughput(Throughput::Elements(set.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for text in set {
                    let _ = black_box(g.parse(black_box(text)));
                }
            })
        });
    }
    group.finish();
}

fn setup(c: &mut Criterion) {
    // Building the grammar (reading and compiling all intent files) happens once
    // at start-up; this shows it is not part of the per-message cost.
    c.bench_function("grammar/build", |b| b.iter(|| black_box(grammar())));
}

criterion_group!(benches, throughput, setup);
criterion_main!(benches);
