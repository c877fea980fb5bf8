//! ARCHITECTURE.md stays true: its list of every crate's workspace dependencies is the one
//! `cargo metadata` reports, and no crate below `api` links axum, none but `store` sea-orm.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn short(name: &str) -> String {
    name.trim_start_matches("sextant-").to_owned()
}

/// Each workspace crate's normal dependencies: workspace crates (short names) and others.
fn dependencies() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().unwrap();
    let ours: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|p| {
            let (mut workspace, mut external) = (BTreeSet::new(), BTreeSet::new());
            for d in p["dependencies"].as_array().unwrap() {
                if !d["kind"].is_null() {
                    continue;
                }
                let name = d["name"].as_str().unwrap();
                if ours.contains(name) {
                    workspace.insert(short(name));
                } else {
                    external.insert(name.to_owned());
                }
            }
            (short(p["name"].as_str().unwrap()), (workspace, external))
        })
        .collect()
}

/// The `crate -> a, b, c` lines of the code block after "Every crate's workspace
/// dependencies" in ARCHITECTURE.md.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let (_, after) = text
        .split_once("Every crate's workspace dependencies")
        .expect("ARCHITECTURE.md lists every crate's workspace dependencies");
    let block = after.split("```").nth(1).expect("in a code block");
    block
        .lines()
        .filter_map(|line| {
            let (name, deps) = line.split_once(" -> ")?;
            let name = name.trim();
            let deps = deps
                .split(',')
                .map(str::trim)
                .filter(|d| *d != "(none)" && !d.is_empty())
                .map(str::to_owned)
                .collect();
            Some((name.to_owned(), deps))
        })
        .collect()
}

#[test]
fn the_documented_dependencies_are_the_real_ones() {
    let real: BTreeMap<String, BTreeSet<String>> = dependencies()
        .into_iter()
        .map(|(name, (workspace, _))| (name, workspace))
        .collect();
    assert_eq!(
        documented(),
        real,
        "ARCHITECTURE.md's dependency list differs from `cargo metadata`"
    );
}

#[test]
fn http_stays_in_api_and_sql_in_store() {
    for (name, (_, external)) in dependencies() {
        if !["api", "cli"].contains(&name.as_str()) {
            assert!(!external.contains("axum"), "{name} depends on axum");
        }
        if name != "store" {
            assert!(
                !external
                    .iter()
                    .any(|d| d.starts_with("sea-orm") || d == "sqlx"),
                "{name} depends on sea-orm or sqlx"
            );
        }
    }
}
