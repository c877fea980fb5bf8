//! One way to print a command's result: a table people read, or with `--json` one JSON
//! object holding the same figures under self-explaining keys.

use serde::Serialize;

/// A result a command prints.
pub trait Report: Serialize {
    /// The readable table (or lines) on standard output.
    fn print_table(&self);
}

/// Prints `report` as a table, or as pretty JSON when `json` is set.
pub fn emit(report: &impl Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        report.print_table();
    }
    Ok(())
}

/// Runs CPU-bound work (a cross-validation, a fit) off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work).await?
}
