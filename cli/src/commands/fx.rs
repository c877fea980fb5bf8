//! `sextant import-fx FILE`: loads reference exchange rates in the European Central Bank's
//! CSV layout (`eurofxref-hist.csv`, or the daily `eurofxref.csv`): a header `Date,USD,JPY,..`
//! and one line per publication day, rates for one euro, `N/A` or empty where a currency
//! had none. Columns of currencies Sextant does not support are ignored (and listed); a line
//! with a bad date or rate is rejected whole (a day's set is written complete or not at all)
//! and named with its line and column; every other day is written, in one transaction.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_domain::{Currency, Rate, RateTable};
use sextant_services::fx;
use sextant_store::{Actor, DailyRates, Store};

use crate::output::{emit, Report};

#[derive(clap::Args)]
pub struct ImportFxArgs {
    /// A CSV file in the ECB's reference-rate layout.
    file: PathBuf,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

/// A rejected line: where, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// What a file holds, read and checked.
#[derive(Debug, Default)]
pub struct ParsedRates {
    pub days: Vec<DailyRates>,
    /// Header columns of currencies Sextant does not support.
    pub ignored_currencies: Vec<String>,
    pub rejected: Vec<LineProblem>,
}

#[derive(Serialize)]
pub struct ImportFxReport {
    pub file: String,
    pub days: u64,
    pub rates: u64,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    pub currencies: Vec<String>,
    pub ignored_currencies: Vec<String>,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub rejected_lines: Vec<LineProblem>,
}

impl Report for ImportFxReport {
    fn print_table(&self) {
        println!("{:<22} {}", "file", self.file);
        println!("{:<22} {}", "days", self.days);
        println!("{:<22} {}", "rates", self.rates);
        if let (Some(first), Some(last)) = (&self.first_date, &self.last_date) {
            println!("{:<22} {first} .. {last}", "dates");
        }
        println!("{:<22} {}", "currencies", self.currencies.join(" "));
        if !self.ignored_currencies.is_empty() {
            println!(
                "{:<22} {}",
                "ignored (unsupported)",
                self.ignored_currencies.join(" ")
            );
        }
        println!(
            "{:<22} {} added, {} changed, {} removed, {} unchanged",
            "rates written", self.added, self.changed, self.removed, self.unchanged
        );
        println!("{:<22} {}", "rejected lines", self.rejected_lines.len());
        for p in self.rejected_lines.iter().take(50) {
            eprintln!(
                "{}:{}:{}: field `{}`: {} [{}]",
                self.file, p.line, p.column, p.field, p.message, p.code
            );
        }
    }
}

pub async fn run(args: ImportFxArgs, mut config: Config) -> anyhow::Result<i32> {
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let store = open_store(&config).await?;
    let report = import_file(store.as_ref(), &args.file, &Actor::operator()).await?;
    emit(&report, args.json)?;
    Ok(if report.rejected_lines.is_empty() {
        0
    } else {
        1
    })
}

/// Publishes the reference rates a synthetic population of `config` was charged at (what
/// the demo and `sextant import` take from `fx-rates.csv`), for evaluations and benchmarks
/// that store generated payments directly.
pub async fn publish_synthetic(
    store: &dyn Store,
    config: &sextant_synth::Config,
    by: &Actor,
) -> anyhow::Result<()> {
    let days: Vec<DailyRates> = sextant_synth::fx::daily_rates_for(config)
        .into_iter()
        .map(|(date, rates)| DailyRates { date, rates })
        .collect();
    fx::put_days(store, &days, "synthetic", by, Utc::now()).await?;
    Ok(())
}

/// Reads and checks a file; a header that is not the ECB's fails it whole, naming the line.
pub fn read_file(path: &Path) -> anyhow::Result<ParsedRates> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    parse_ecb_csv(&text).map_err(|p| {
        anyhow::anyhow!(
            "{}:{}:{}: {} [{}]",
            path.display(),
            p.line,
            p.column,
            p.message,
            p.code
        )
    })
}

/// The file's rates as a table, for computing without a store (benchmarks).
pub fn read_table(path: &Path) -> anyhow::Result<RateTable> {
    let mut table = RateTable::new();
    for day in read_file(path)?.days {
        for (currency, rate) in day.rates {
            table.insert(day.date, currency, rate);
        }
    }
    Ok(table)
}

/// Imports a file's good lines (each day replacing what was stored for it) and reports what
/// changed and which lines were left out.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    by: &Actor,
) -> anyhow::Result<ImportFxReport> {
    let parsed = read_file(path)?;
    let source = format!("ecb-csv:{}", file_name(path));
    let write = fx::put_days(store, &parsed.days, &source, by, Utc::now()).await?;
    let currencies: BTreeSet<&str> = parsed
        .days
        .iter()
        .flat_map(|d| d.rates.iter().map(|(c, _)| c.as_str()))
        .collect();
    Ok(ImportFxReport {
        file: path.display().to_string(),
        days: parsed.days.len() as u64,
        rates: parsed.days.iter().map(|d| d.rates.len() as u64).sum(),
        first_date: parsed
            .days
            .iter()
            .map(|d| d.date)
            .min()
            .map(|d| d.to_string()),
        last_date: parsed
            .days
            .iter()
            .map(|d| d.date)
            .max()
            .map(|d| d.to_string()),
        currencies: currencies.into_iter().map(str::to_owned).collect(),
        ignored_currencies: parsed.ignored_currencies,
        added: write.added,
        changed: write.changed,
        removed: write.removed,
        unchanged: write.unchanged,
        rejected_lines: parsed.rejected,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The cells of a line with the 1-based column each starts at, trimmed.
fn cells(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in line.split(',') {
        let leading = piece.len() - piece.trim_start().len();
        out.push((line[..start + leading].chars().count() + 1, piece.trim()));
        start += piece.len() + 1;
    }
    out
}

/// `2026-03-06` (the history file) or `06 March 2026` (the daily file).
fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d %B %Y"))
        .ok()
}

/// Reads the ECB layout; see the module's documentation for what is kept and rejected. A
/// file whose header is not the ECB's is refused whole: the error names its first line.
pub fn parse_ecb_csv(text: &str) -> Result<ParsedRates, LineProblem> {
    let header_problem = |code: &str, message: &str| LineProblem {
        line: 1,
        column: 1,
        field: "header".into(),
        code: code.into(),
        message: message.into(),
    };
    let mut parsed = ParsedRates::default();
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(header_problem(
            "empty_file",
            "the file is empty: expected a header `Date,USD,JPY,...`",
        ));
    };
    let header = header.trim_start_matches('\u{feff}');
    let columns = cells(header);
    if columns.first().map(|(_, c)| c.eq_ignore_ascii_case("date")) != Some(true) {
        return Err(header_problem(
            "not_ecb_layout",
            "the first column of the header must be `Date` (the ECB's layout)",
        ));
    }
    // Each column: the currency it holds, or None (ignored, or the empty trailing column).
    let mut currencies: Vec<Option<Currency>> = Vec::with_capacity(columns.len());
    for (_, code) in &columns[1..] {
        match Currency::parse(code) {
            Ok(c) if c != Currency::EUR => currencies.push(Some(c)),
            _ => {
                if !code.is_empty() {
                    parsed.ignored_currencies.push((*code).to_owned());
                }
                currencies.push(None);
            }
        }
    }
    for (index, line) in lines {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let row = cells(line);
        let reject = |column: usize, field: &str, code: &str, message: String| LineProblem {
            line: number,
            column,
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        };
        let (date_column, date_text) = row[0];
        let Some(date) = parse_day(date_text) else {
            parsed.rejected.push(reject(
                date_column,
                "Date",
                "invalid_date",
                "a date is YYYY-MM-DD (or DD Month YYYY)".into(),
            ));
            continue;
        };
        if row.len() > columns.len() {
            parsed.rejected.push(reject(
                row[columns.len()].0,
                "line",
                "too_many_cells",
                format!("the header has {} columns", columns.len()),
            ));
            continue;
        }
        let mut rates = Vec::new();
        let mut problem = None;
        for ((column, cell), currency) in row[1..].iter().zip(&currencies) {
            let Some(currency) = currency else { continue };
            if cell.is_empty() || cell.eq_ignore_ascii_case("N/A") {
                continue;
            }
            match Rate::parse(cell) {
                Ok(rate) => rates.push((*currency, rate)),
                Err(e) => {
                    problem = Some(reject(*column, currency.as_str(), e.code, e.message));
                    break;
                }
            }
        }
        match problem {
            Some(p) => parsed.rejected.push(p),
            None if !rates.is_empty() => parsed.days.push(DailyRates { date, rates }),
            None => {}
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = "Date,USD,JPY,BGN,CYP,KRW,\n\
        2026-03-09,1.0850,160.90,1.9558,N/A,1570.12,\n\
        2026-03-06,1.0820,161.23,1.9558,N/A,N/A,\n\
        2026-03-05,1.08x0,161.00,1.9558,N/A,1560.00,\n\
        03/04/2026,1.0800,160.00,1.9558,N/A,1550.00,\n";

    #[test]
    fn the_ecb_history_layout_is_read_and_bad_lines_named() {
        let parsed = parse_ecb_csv(HISTORY).unwrap();
        assert_eq!(parsed.ignored_currencies, ["BGN", "CYP"]);
        assert_eq!(parsed.days.len(), 2);
        let monday = &parsed.days[0];
        assert_eq!(monday.date, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
        let rates: Vec<(String, String)> = monday
            .rates
            .iter()
            .map(|(c, r)| (c.to_string(), r.to_string()))
            .collect();
        assert_eq!(
            rates,
            [
                ("USD".to_string(), "1.0850".to_string()),
                ("JPY".to_string(), "160.90".to_string()),
                ("KRW".to_string(), "1570.12".to_string()),
            ]
        );
        assert_eq!(parsed.days[1].rates.len(), 2, "N/A is no rate");
        assert_eq!(
            parsed.rejected,
            [
                LineProblem {
                    line: 4,
                    column: 12,
                    field: "USD".into(),
                    code: "invalid_rate".into(),
                    message: Rate::parse("1.08x0").unwrap_err().message,
                },
                LineProblem {
                    line: 5,
                    column: 1,
                    field: "Date".into(),
                    code: "invalid_date".into(),
                    message: "a date is YYYY-MM-DD (or DD Month YYYY)".into(),
                },
            ]
        );
    }

    #[test]
    fn the_daily_layout_with_spaces_and_spelled_dates_is_read() {
        let parsed = parse_ecb_csv("Date, USD, JPY, \n06 March 2026, 1.0820, 161.23, \n").unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.days.len(), 1);
        assert_eq!(parsed.days[0].rates[1].1.to_string(), "161.23");
        let wrong = parse_ecb_csv("Currency,Rate\nUSD,1.08\n").unwrap_err();
        assert_eq!((wrong.line, wrong.code.as_str()), (1, "not_ecb_layout"));
        assert_eq!(parse_ecb_csv("").unwrap_err().code, "empty_file");
    }
}
