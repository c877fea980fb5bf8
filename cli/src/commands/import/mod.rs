//! `sextant import`: loads customers, holdings, payments and behaviour files (JSON lines or
//! CSV) into the store, streaming, with a progress bar; `reader` does the work. A folder's
//! `fx-rates.csv` (reference rates in the ECB's layout, as `sextant generate` writes) is
//! imported first, as `sextant import-fx` would.

mod reader;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_services::monitoring::Monitor;
use sextant_services::readiness::Step;
use sextant_store::{Actor, Store};

pub use reader::{import, import_followed, FileKind, Followers, ImportReport};

use crate::progress;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A file, or a folder holding customers*, holdings*, payments*, behaviour* files.
    path: PathBuf,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Store the payments without evaluating them by transaction monitoring (a backfill
    /// whose alerts `sextant monitoring scan` counts instead, or a measurement of what
    /// monitoring costs).
    #[arg(long)]
    without_monitoring: bool,
    /// Store the payments without running the loyalty rules on them (points can be earned
    /// later with `sextant loyalty earn`).
    #[arg(long)]
    without_loyalty: bool,
}

pub async fn run(args: ImportArgs, mut config: Config) -> anyhow::Result<i32> {
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let store = open_store(&config).await?;
    let monitor = Monitor::default();
    if let Some(path) = &config.sanctions_list_file {
        monitor
            .screening()
            .load_file(path)
            .map_err(anyhow::Error::msg)?;
    }
    let rules = sextant_services::loyalty::rules();
    let followers = Followers {
        monitor: (!args.without_monitoring).then_some(&monitor),
        loyalty: (!args.without_loyalty).then_some(&rules),
    };
    let report = import_with_progress(store, followers, &args.path, None).await?;
    Ok(if report.error_count > 0 { 1 } else { 0 })
}

/// Imports `path` with a progress bar (payments followed by monitoring and loyalty as
/// `followers` asks), then
/// prints a table per file and the rejected lines (file, line, column, field, code) on
/// standard error.
pub async fn import_with_progress(
    store: Arc<dyn Store>,
    followers: Followers<'_>,
    path: &Path,
    step: Option<&Step>,
) -> anyhow::Result<ImportReport> {
    let rates = path.join(crate::commands::generate::FX_RATES_FILE);
    if path.is_dir() && rates.exists() {
        let report =
            crate::commands::fx::import_file(store.as_ref(), &rates, &Actor::operator()).await?;
        anyhow::ensure!(
            report.rejected_lines.is_empty(),
            "{}: {} lines rejected (run `sextant import-fx` on it to see them)",
            rates.display(),
            report.rejected_lines.len()
        );
        println!(
            "reference rates: {} days of {} ({} to {})",
            report.days,
            report.currencies.join(", "),
            report.first_date.as_deref().unwrap_or("-"),
            report.last_date.as_deref().unwrap_or("-")
        );
    }
    let bar = progress::bar(
        0,
        "import {msg:10} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    let report = import_followed(store, followers, path, |kind, done, total| {
        bar.set_message(kind.name());
        bar.set_length(total);
        bar.set_position(done);
        if let Some(step) = step {
            step.progress(done, Some(total));
        }
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "{:<11} {:>10} {:>10} {:>11} {:>9} {:>8} {:>11}",
        "file", "records", "stored", "duplicates", "rejected", "seconds", "records/s"
    );
    for f in &report.files {
        let secs = f.elapsed.as_secs_f64();
        println!(
            "{:<11} {:>10} {:>10} {:>11} {:>9} {:>8.2} {:>11.0}",
            f.kind.map_or("?", |k| k.name()),
            f.records,
            f.stored,
            f.duplicates,
            f.rejected,
            secs,
            f.records as f64 / secs.max(1e-9)
        );
    }
    if followers.loyalty.is_some() {
        let points = &report.loyalty;
        println!(
            "loyalty: {} purchases earned {} points; {} refunds took back {} ({} already spent); {} already posted",
            points.earned,
            points.points_earned,
            points.reversed,
            points.points_reversed,
            points.shortfall,
            points.already_posted
        );
        if !points.nothing.is_empty() {
            let why: Vec<String> = points
                .nothing
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            println!("loyalty: no points for {}", why.join(", "));
        }
    }
    for e in report.errors.iter().take(50) {
        eprintln!("{e}");
    }
    if report.error_count > 50 {
        eprintln!("... and {} more rejected lines", report.error_count - 50);
    }
    Ok(report)
}
