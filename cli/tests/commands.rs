//! The command line as people read it: every command the README's table names exists, and
//! every `eval` and `bench` command offers `--json`. (Building this test also makes cargo
//! build the `sextant` binary that the end-to-end tests in `tests/` drive.)

use std::path::Path;
use std::process::Command;

fn sextant(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sextant"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The subcommand words (before the first option or argument) of every `sextant ...` in
/// the first column of the README's command table.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(readme).unwrap();
    let mut commands = Vec::new();
    for line in text.lines() {
        let Some(cell) = line.strip_prefix("| `sextant ") else {
            continue;
        };
        // A cell may name two commands, `a ...`, `sextant b ...`.
        for part in cell.split('|').next().unwrap().split("`sextant ") {
            let words: Vec<String> = part
                .split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                .filter(|w| !w.starts_with('-'))
                .map(str::to_owned)
                .collect();
            if !words.is_empty() {
                commands.push(words);
            }
        }
    }
    commands
}

#[test]
fn every_command_of_the_readme_exists() {
    let commands = readme_commands();
    assert!(commands.len() >= 25, "the table lists {commands:?}");
    for words in commands {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let (ok, help) = sextant(&args);
        assert!(ok, "`sextant {}` is not a command", words.join(" "));
        assert!(help.contains("Usage: sextant"), "{help}");
    }
}

#[test]
fn every_eval_and_bench_command_prints_json_on_request() {
    let (_, top) = sextant(&["--help"]);
    for group in ["eval", "bench"] {
        assert!(top.contains(group), "{top}");
        let (ok, help) = sextant(&[group, "--help"]);
        assert!(ok);
        let subcommands: Vec<&str> = help
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .collect();
        assert!(!subcommands.is_empty(), "{help}");
        for name in subcommands {
            let (ok, help) = sextant(&[group, name, "--help"]);
            assert!(ok, "sextant {group} {name} --help");
            assert!(
                help.contains("--json"),
                "`sextant {group} {name}` has no --json"
            );
        }
    }
    for (group, name) in [
        ("credit", "eval"),
        ("credit", "eval-population"),
        ("credit", "eval-berka"),
        ("credit", "fairness"),
        ("marketing", "eval"),
        ("marketing", "eval-offers"),
    ] {
        let (_, help) = sextant(&[group, name, "--help"]);
        assert!(
            help.contains("--json"),
            "`sextant {group} {name}` has no --json"
        );
    }
}
