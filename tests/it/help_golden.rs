//! Messages rendered from `prompts/`: help generated from the grammar files and
//! parse errors, checked against golden files in
//! `tests/golden/`. After an intended change, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test it help_golden` and review the diff.

use std::path::Path;

use switchyard::intent::IntentKind;
use switchyard::render::Renderer;

use super::grammar;

pub fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{} differs; run with UPDATE_GOLDEN=1 if the change is intended",
        path.display()
    );
}

#[test]
fn the_command_list_has_one_usage_line_and_one_example_per_command() {
    let help = Renderer::new().help(grammar(), None);
    golden("help.txt", &help);
    for kind in IntentKind::ALL {
        assert!(
            help.contains(&grammar().spec(kind).usage),
            "{} missing from help",
            kind.name()
        );
    }
}

#[test]
fn help_promote_shows_the_usage_details_and_examples() {
    golden(
        "help_promote.txt",
        &Renderer::new().help(grammar(), Some(IntentKind::Promote)),
    );
}

#[test]
fn every_example_help_shows_is_one_the_parser_accepts() {
    for kind in IntentKind::ALL {
        let page = Renderer::new().help(grammar(), Some(kind));
        for line in page.lines().filter(|l| l.starts_with("  `")) {
            let example = line.trim().trim_matches('`');
            assert!(
                grammar().parse(example).is_ok(),
                "help for {} shows {example:?}",
                kind.name()
            );
        }
    }
}

#[test]
fn parse_errors_read_as_the_golden_file_shows() {
    let renderer = Renderer::new();
    let mut out = String::new();
    for text in [
        "promte 1.3.0 from tst to prd",
        "promote 1.3.0 to prd",
        "deploy 1.3.0 to prdd",
        "deploy 1.3.0; rm -rf / to prd",
        "deploy 1.3.0 to prd and tst",
        "promote 1.3.0 from prod to production",
        "lunch anyone?",
        "@everyone deploy 1.3.0 to prd",
    ] {
        let error = grammar().parse(text).expect_err(text);
        out.push_str(&format!("> {text}\n{}\n\n", renderer.parse_error(&error)));
    }
    golden("parse_errors.txt", &out);
}
