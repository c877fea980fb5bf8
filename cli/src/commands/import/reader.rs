//! The importer: streams generated (or bank-provided) files into the store.
//!
//! Files are read line by line on a blocking thread and parsed into domain values while the
//! previous batch is being written, so memory holds at most a few batches. Every write is
//! idempotent (events by id, customers and holdings by key), so an interrupted import is
//! finished by running it again: nothing is duplicated and nothing is missed. A bad line is
//! reported with its file, line and column, skipped, and the rest still lands; the command
//! then exits non-zero.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use sextant_domain::{Customer, Event, Holding};
use sextant_loyalty::EarningRules;
use sextant_services::loyalty::EarnReport;
use sextant_services::monitoring::Monitor;
use sextant_services::records::{parse_customer, parse_event, parse_holding, RecordError};
use sextant_store::{Actor, Store, StoreError, INGEST_CALL_MAX_EVENTS};
use tokio::sync::mpsc;

/// Times a batch is retried while the database is busy, with doubling waits from 400 ms.
const BUSY_RETRIES: u32 = 5;
/// Records per write: one transaction each.
const BATCH_RECORDS: usize = 20_000;
const _: () = assert!(BATCH_RECORDS <= INGEST_CALL_MAX_EVENTS);
/// Parsed batches waiting for the writer: bounds memory whatever the file size.
const QUEUE_BATCHES: usize = 4;
/// Batches being written at once: the next one's events are hashed and sorted while the one
/// before commits (on PostgreSQL, which needs no write lock, the two run on two connections). Results are taken in
/// file order; a batch the store refuses in part is written again after its successor may
/// have committed, which only changes which of two equal events counts as the duplicate.
const WRITES_IN_FLIGHT: usize = 2;
/// Longest line accepted; a longer one is an error, not an allocation.
const LINE_MAX_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Customers,
    Holdings,
    Payments,
    Behaviour,
}

impl FileKind {
    /// From the file name: `customers*`, `holdings*`, `payments*`, `behaviour*`/`behavior*`.
    pub fn detect(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let supported = [".jsonl", ".ndjson", ".json", ".csv"]
            .iter()
            .any(|ext| name.ends_with(ext));
        if !supported {
            return None;
        }
        [
            ("customers", FileKind::Customers),
            ("holdings", FileKind::Holdings),
            ("payments", FileKind::Payments),
            ("behaviour", FileKind::Behaviour),
            ("behavior", FileKind::Behaviour),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kind)| kind)
    }

    pub fn name(self) -> &'static str {
        match self {
            FileKind::Customers => "customers",
            FileKind::Holdings => "holdings",
            FileKind::Payments => "payments",
            FileKind::Behaviour => "behaviour",
        }
    }
}

/// A rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub file: PathBuf,
    pub line: u64,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {} [{}]", self.message, self.code)
    }
}

#[derive(Debug, Clone, Default)]
pub struct FileReport {
    pub kind: Option<FileKind>,
    pub records: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    /// What the payments earned (empty when imported without the loyalty rules).
    pub loyalty: EarnReport,
    /// The first rejected lines (up to [`ERRORS_KEPT`]).
    pub errors: Vec<LineError>,
    pub error_count: u64,
}

pub const ERRORS_KEPT: usize = 1_000;

enum Records {
    Customers(Vec<Customer>),
    Holdings(Vec<Holding>),
    Events(Vec<Event>),
}

struct Batch {
    records: Records,
    lines: Vec<u64>,
    errors: Vec<LineError>,
    bytes_read: u64,
}

/// The files to import under `path`, in dependency order (customers before what refers to them).
pub fn plan(path: &Path) -> anyhow::Result<Vec<(PathBuf, FileKind)>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in
            std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?
        {
            let file = entry?.path();
            if let Some(kind) = FileKind::detect(&file) {
                files.push((file, kind));
            }
        }
        anyhow::ensure!(
            !files.is_empty(),
            "{} holds no customers*, holdings*, payments* or behaviour* files (.jsonl or .csv)",
            path.display()
        );
    } else {
        let kind = FileKind::detect(path).with_context(|| {
            format!("cannot tell what {} holds: name it customers*, holdings*, payments* or behaviour* with .jsonl or .csv", path.display())
        })?;
        files.push((path.to_owned(), kind));
    }
    files.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Ok(files)
}

/// What runs on each stored batch of payments, as it does on the API's ingestion.
#[derive(Clone, Copy, Default)]
pub struct Followers<'a> {
    /// Transaction monitoring.
    pub monitor: Option<&'a Monitor>,
    /// The loyalty rules: what purchases earn and refunds take back.
    pub loyalty: Option<&'a EarningRules>,
}

impl Followers<'_> {
    fn any(&self) -> bool {
        self.monitor.is_some() || self.loyalty.is_some()
    }
}

/// Imports every file of `path` with nothing following the stored payments (no monitoring,
/// no loyalty points: a setup for a benchmark or an evaluation); `on_progress(kind,
/// bytes_read, bytes_total)` follows along.
pub async fn import(
    store: Arc<dyn Store>,
    path: &Path,
    on_progress: impl FnMut(FileKind, u64, u64),
) -> anyhow::Result<ImportReport> {
    import_followed(store, Followers::default(), path, on_progress).await
}

/// Imports every file of `path`; each stored batch of payments is then evaluated by
/// transaction monitoring and earns loyalty points, as `followers` asks.
pub async fn import_followed(
    store: Arc<dyn Store>,
    followers: Followers<'_>,
    path: &Path,
    mut on_progress: impl FnMut(FileKind, u64, u64),
) -> anyhow::Result<ImportReport> {
    let mut report = ImportReport::default();
    for (file, kind) in plan(path)? {
        let total = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        let started = Instant::now();
        let mut file_report = FileReport {
            kind: Some(kind),
            ..FileReport::default()
        };
        let (tx, mut rx) = mpsc::channel::<anyhow::Result<Batch>>(QUEUE_BATCHES);
        let reader_file = file.clone();
        let reader = tokio::task::spawn_blocking(move || read_file(&reader_file, kind, &tx));
        // Monitoring and loyalty evaluate each batch's payments after the one before (a
        // customer's alerts and caps follow the order of their payments), so they write one
        // batch at a time.
        let in_flight = if followers.any() { 1 } else { WRITES_IN_FLIGHT };
        let (store, file) = (store.as_ref(), file.as_path());
        let mut written = stream::poll_fn(|cx| rx.poll_recv(cx))
            .map(|batch| async move {
                let batch = batch?;
                let mut errors = batch.errors;
                let unreadable = errors.len() as u64;
                let mut earned = EarnReport::default();
                let counts = write(
                    store,
                    followers,
                    batch.records,
                    &batch.lines,
                    file,
                    &mut errors,
                    &mut earned,
                )
                .await?;
                anyhow::Ok(Written {
                    parsed: batch.lines.len() as u64,
                    unreadable,
                    counts,
                    errors,
                    bytes_read: batch.bytes_read,
                    earned,
                })
            })
            .buffered(in_flight);
        while let Some(batch) = written.next().await {
            let batch = batch?;
            let (stored, duplicates, rejected) = batch.counts;
            file_report.records += batch.parsed;
            file_report.rejected += batch.unreadable + rejected;
            file_report.stored += stored;
            file_report.duplicates += duplicates;
            report.loyalty.add(&batch.earned);
            report.error_count += batch.errors.len() as u64;
            let room = ERRORS_KEPT.saturating_sub(report.errors.len());
            report.errors.extend(batch.errors.into_iter().take(room));
            on_progress(kind, batch.bytes_read, total);
        }
        reader.await.context("the reader thread failed")?;
        file_report.elapsed = started.elapsed();
        report.files.push(file_report);
    }
    Ok(report)
}

/// What became of one batch of a file.
struct Written {
    /// Lines that parsed into records.
    parsed: u64,
    /// Lines that did not parse.
    unreadable: u64,
    /// (stored, duplicates, refused by the store).
    counts: (u64, u64, u64),
    errors: Vec<LineError>,
    bytes_read: u64,
    earned: EarnReport,
}

/// Writes one batch; items the store refuses (unknown customer, reused id) become line
/// errors and the rest is written again without them. Returns (stored, duplicates, rejected).
async fn write(
    store: &dyn Store,
    followers: Followers<'_>,
    records: Records,
    lines: &[u64],
    file: &Path,
    errors: &mut Vec<LineError>,
    earned: &mut EarnReport,
) -> anyhow::Result<(u64, u64, u64)> {
    let now = Utc::now();
    let by = Actor::operator();
    let mut keep: Vec<usize> = (0..lines.len()).collect();
    let mut rejected = 0;
    let mut busy_retries = 0;
    // Each refusal removes at least one item, and there are two kinds of refusal; a busy
    // database is retried separately.
    for _attempt in 0..3 + BUSY_RETRIES {
        let result = match &records {
            Records::Customers(all) => {
                let some: Vec<Customer> = keep.iter().map(|&i| all[i].clone()).collect();
                store
                    .put_customers(&some, &by, now)
                    .await
                    .map(|()| (some.len() as u64, 0))
            }
            Records::Holdings(all) => {
                let some: Vec<Holding> = keep.iter().map(|&i| all[i].clone()).collect();
                store
                    .upsert_holdings(&some, &by, now)
                    .await
                    .map(|()| (some.len() as u64, 0))
            }
            Records::Events(all) => {
                let some: Vec<Event>;
                let events = if keep.len() == all.len() {
                    &all[..]
                } else {
                    some = keep.iter().map(|&i| all[i].clone()).collect();
                    &some[..]
                };
                let outcome = store.ingest(events, &by, now).await;
                if let (Ok(o), Some(monitor)) = (&outcome, followers.monitor) {
                    monitor
                        .observe(store, events, &o.duplicates, &by, now)
                        .await
                        .context("transaction monitoring of the stored payments")?;
                }
                if let (Ok(_), Some(rules)) = (&outcome, followers.loyalty) {
                    *earned =
                        sextant_services::loyalty::earn_on_events(store, rules, events, &by, now)
                            .await
                            .context("loyalty points on the stored payments")?;
                }
                outcome.map(|o| (o.stored as u64, o.duplicates.len() as u64))
            }
        };
        let (indices, field, code, message) = match result {
            Ok((stored, duplicates)) => return Ok((stored, duplicates, rejected)),
            Err(StoreError::UnknownCustomers(ix)) => (
                ix,
                "customer_id",
                "unknown_customer",
                "no customer is registered under this id (import customers first)",
            ),
            Err(StoreError::UnknownProducts(ix)) => (
                ix,
                "product_id",
                "unknown_product",
                "no product of the catalogue has this id",
            ),
            Err(StoreError::EventIdReused(ix)) => (
                ix,
                "event_id",
                "event_id_reused",
                "this event id is already stored with different content",
            ),
            Err(StoreError::Unavailable(why)) if busy_retries < BUSY_RETRIES => {
                // Another writer holds the database (a server beside this import, say).
                busy_retries += 1;
                tracing::warn!(%why, attempt = busy_retries, "the database is busy; retrying the batch");
                tokio::time::sleep(std::time::Duration::from_millis(200 << busy_retries)).await;
                continue;
            }
            Err(other) => return Err(other).context("the store refused a batch"),
        };
        for &i in &indices {
            errors.push(LineError {
                file: file.to_owned(),
                line: lines[keep[i]],
                column: None,
                field: Some(field.into()),
                code: code.into(),
                message: message.into(),
            });
        }
        rejected += indices.len() as u64;
        let drop: std::collections::HashSet<usize> = indices.into_iter().collect();
        keep = keep
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, k)| k)
            .collect();
        if keep.is_empty() {
            return Ok((0, 0, rejected));
        }
    }
    anyhow::bail!(
        "{}: a batch was still refused after removing the refused items",
        file.display()
    )
}

/// Parses one record of `kind` from JSON text.
fn parse(kind: FileKind, text: &str) -> Result<Item, Vec<RecordError>> {
    match kind {
        FileKind::Customers => parse_customer(text, None, Utc::now()).map(Item::Customer),
        FileKind::Holdings => parse_holding(text).map(Item::Holding),
        FileKind::Payments | FileKind::Behaviour => {
            let event = parse_event(text)?;
            let matches_file = matches!(
                (&event, kind),
                (Event::Payment(_), FileKind::Payments)
                    | (Event::Behaviour(_), FileKind::Behaviour)
            );
            if !matches_file {
                return Err(vec![RecordError {
                    field: Some("type".into()),
                    code: "wrong_file".into(),
                    message: format!("a {} file holds only {} records", kind.name(), kind.name()),
                    line: None,
                    column: None,
                }]);
            }
            Ok(Item::Event(event))
        }
    }
}

enum Item {
    Customer(Customer),
    Holding(Holding),
    Event(Event),
}

struct Builder {
    kind: FileKind,
    records: Records,
    lines: Vec<u64>,
    errors: Vec<LineError>,
}

impl Builder {
    fn new(kind: FileKind) -> Self {
        let records = match kind {
            FileKind::Customers => Records::Customers(Vec::new()),
            FileKind::Holdings => Records::Holdings(Vec::new()),
            FileKind::Payments | FileKind::Behaviour => {
                Records::Events(Vec::with_capacity(BATCH_RECORDS))
            }
        };
        Builder {
            kind,
            records,
            lines: Vec::with_capacity(BATCH_RECORDS),
            errors: Vec::new(),
        }
    }

    fn push(&mut self, line: u64, item: Item) {
        match (&mut self.records, item) {
            (Records::Customers(v), Item::Customer(c)) => v.push(c),
            (Records::Holdings(v), Item::Holding(h)) => v.push(h),
            (Records::Events(v), Item::Event(e)) => v.push(e),
            _ => unreachable!("parse() yields the file's kind"),
        }
        self.lines.push(line);
    }

    /// Rejected lines count too, so a file of bad lines is still read in bounded batches.
    fn full(&self) -> bool {
        self.lines.len() + self.errors.len() >= BATCH_RECORDS
    }

    fn take(&mut self, bytes_read: u64) -> Batch {
        let fresh = Builder::new(self.kind);
        let old = std::mem::replace(self, fresh);
        Batch {
            records: old.records,
            lines: old.lines,
            errors: old.errors,
            bytes_read,
        }
    }
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn read_file(path: &Path, kind: FileKind, tx: &mpsc::Sender<anyhow::Result<Batch>>) {
    let result = if is_csv(path) {
        read_csv(path, kind, tx)
    } else {
        read_jsonl(path, kind, tx)
    };
    if let Err(e) = result {
        let _ = tx.blocking_send(Err(e));
    }
}

fn line_error(path: &Path, line: u64, e: RecordError, column: Option<usize>) -> LineError {
    LineError {
        file: path.to_owned(),
        line,
        column: column.or(e.column),
        field: e.field,
        code: e.code,
        message: e.message,
    }
}

/// Reads past the rest of an over-long line; returns the bytes skipped.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<usize> {
    let mut skipped = 0;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(skipped + at + 1);
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
                skipped += len;
            }
        }
    }
}

fn read_jsonl(
    path: &Path,
    kind: FileKind,
    tx: &mpsc::Sender<anyhow::Result<Batch>>,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut builder = Builder::new(kind);
    let (mut line_no, mut bytes_read) = (0u64, 0u64);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        // Never hold more than one line's limit in memory, however long the line.
        let n = (&mut reader)
            .take(LINE_MAX_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        let mut n = n;
        if buf.last() != Some(&b'\n') && n > LINE_MAX_BYTES {
            n += skip_line(&mut reader)
                .with_context(|| format!("cannot read {}", path.display()))?;
        }
        line_no += 1;
        bytes_read += n as u64;
        let bad = |code: &str, message: &str| LineError {
            file: path.to_owned(),
            line: line_no,
            column: None,
            field: None,
            code: code.into(),
            message: message.into(),
        };
        if n > LINE_MAX_BYTES {
            builder.errors.push(bad(
                "line_too_long",
                &format!("the line exceeds {LINE_MAX_BYTES} bytes"),
            ));
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            builder
                .errors
                .push(bad("invalid_utf8", "the line is not UTF-8"));
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        match parse(kind, text) {
            Ok(item) => builder.push(line_no, item),
            Err(errors) => builder.errors.extend(
                errors
                    .into_iter()
                    .map(|e| line_error(path, line_no, e, None)),
            ),
        }
        if builder.full() && tx.blocking_send(Ok(builder.take(bytes_read))).is_err() {
            return Ok(());
        }
    }
    let _ = tx.blocking_send(Ok(builder.take(bytes_read)));
    Ok(())
}

/// Columns that hold numbers and booleans; every other cell is a string. Dotted headers
/// (`card.bin`, `consents.marketing.email`) build nested objects, so a CSV row becomes the
/// very JSON record a JSON-lines file holds and goes through the same parser.
fn csv_cell(header: &str, cell: &str) -> serde_json::Value {
    const NUMBERS: &[&str] = &[
        "birth_year",
        "amount_minor",
        "balance_after_minor",
        "value_minor",
    ];
    if NUMBERS.contains(&header) {
        if let Ok(n) = cell.parse::<i64>() {
            return n.into();
        }
    }
    if header.starts_with("consents.") {
        match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => return true.into(),
            "false" | "0" | "no" => return false.into(),
            _ => {}
        }
    }
    cell.into()
}

fn csv_record(headers: &[String], row: &csv::StringRecord, kind: FileKind) -> String {
    let mut object = serde_json::Map::new();
    if matches!(kind, FileKind::Payments | FileKind::Behaviour)
        && !headers.iter().any(|h| h == "type")
    {
        let tag = if kind == FileKind::Payments {
            "payment"
        } else {
            "behaviour"
        };
        object.insert("type".into(), tag.into());
    }
    for (header, cell) in headers.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        let mut parts: Vec<&str> = header.split('.').collect();
        let leaf = parts.pop().expect("split yields at least one part");
        let mut target = &mut object;
        for part in parts {
            let next = target
                .entry(part.to_owned())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if !next.is_object() {
                *next = serde_json::Value::Object(Default::default());
            }
            target = next.as_object_mut().expect("made an object just above");
        }
        target.insert(leaf.to_owned(), csv_cell(header, cell));
    }
    serde_json::Value::Object(object).to_string()
}

fn read_csv(
    path: &Path,
    kind: FileKind,
    tx: &mpsc::Sender<anyhow::Result<Batch>>,
) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header row", path.display()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut builder = Builder::new(kind);
    let mut row = csv::StringRecord::new();
    loop {
        // The line the next record starts on (csv counts from 1), for errors without a position.
        let line = reader.position().line();
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                builder.errors.push(LineError {
                    file: path.to_owned(),
                    line,
                    column: None,
                    field: None,
                    code: "invalid_csv".into(),
                    message: e.to_string(),
                });
                continue;
            }
        }
        let line = row.position().map_or(line, |p| p.line());
        let text = csv_record(&headers, &row, kind);
        match parse(kind, &text) {
            Ok(item) => builder.push(line, item),
            Err(errors) => builder.errors.extend(errors.into_iter().map(|e| {
                // In a CSV file the column is the field's position in the header.
                let column = e
                    .field
                    .as_deref()
                    .and_then(|f| headers.iter().position(|h| h == f))
                    .map(|i| i + 1);
                line_error(path, line, RecordError { column: None, ..e }, column)
            })),
        }
        if builder.full()
            && tx
                .blocking_send(Ok(builder.take(reader.position().byte())))
                .is_err()
        {
            return Ok(());
        }
    }
    let _ = tx.blocking_send(Ok(builder.take(reader.position().byte())));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_file_names() {
        assert_eq!(
            FileKind::detect(Path::new("x/payments.jsonl")),
            Some(FileKind::Payments)
        );
        assert_eq!(
            FileKind::detect(Path::new("Behavior-2026.csv")),
            Some(FileKind::Behaviour)
        );
        assert_eq!(FileKind::detect(Path::new("ground_truth.jsonl")), None);
        assert_eq!(FileKind::detect(Path::new("customers.txt")), None);
    }

    #[test]
    fn csv_rows_become_the_json_records() {
        let headers: Vec<String> = [
            "id",
            "birth_year",
            "consents.profiling",
            "consents.marketing.email",
            "region",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let row = csv::StringRecord::from(vec!["c1", "1980", "true", "0", ""]);
        let json: serde_json::Value =
            serde_json::from_str(&csv_record(&headers, &row, FileKind::Customers)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "c1", "birth_year": 1980, "consents": {"profiling": true, "marketing": {"email": false}}})
        );
    }
}
