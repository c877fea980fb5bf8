//! `sextant bench profile`: feature extraction throughput against a polars group-by on the
//! same file, incremental update latency, embedding inference and similar-customer queries.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, TimeZone, Utc};
use rayon::prelude::*;
use serde::Serialize;
use sextant_domain::{Customer, Event};
use sextant_models::embedding::{EmbeddingConfig, EmbeddingModel};
use sextant_services::pipeline::{compute, Pipeline};
use sextant_services::records::{parse_customer, parse_event};
use sextant_store::{Actor, History, Store};
use sextant_vectors::{EdgeStore, Filter, Payload, Point, VectorStore};

use crate::commands::generate::{self, BEHAVIOUR_FILE, CUSTOMERS_FILE, PAYMENTS_FILE};
use crate::output::Report;

pub struct ProfileOptions {
    pub customers: u64,
    pub months: u32,
    pub polars: bool,
}

#[derive(Debug, Serialize)]
pub struct Extraction {
    pub engine: String,
    pub customers: u64,
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    pub customers_per_second: f64,
    /// What was computed per customer.
    pub computes: String,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub what: String,
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct ProfileBench {
    pub customers: u64,
    pub months: u32,
    pub extraction: Vec<Extraction>,
    /// Sextant's events per second over polars' on the same file (absent without polars).
    pub sextant_to_polars_throughput_ratio: Option<f64>,
    pub latencies: Vec<Latency>,
    pub embedding_inference_customers_per_second: f64,
    pub vector_points: usize,
    pub vector_upsert_seconds: f64,
    pub vector_index_build_seconds: f64,
    pub similar_recall_at_10: f64,
    pub skipped: Vec<String>,
}

fn percentile(sorted_ms: &[f64], q: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_ms.len() as f64 - 1.0) * q).round() as usize;
    sorted_ms[rank]
}

fn latency(what: &str, mut samples_ms: Vec<f64>) -> Latency {
    samples_ms.sort_by(f64::total_cmp);
    Latency {
        what: what.into(),
        samples: samples_ms.len(),
        p50_ms: percentile(&samples_ms, 0.5),
        p99_ms: percentile(&samples_ms, 0.99),
        max_ms: samples_ms.last().copied().unwrap_or(0.0),
    }
}

/// Finds the key that precedes a customer id in a generated line.
static CUSTOMER_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"customer_id\":\""));

/// The customer id of a generated JSON line, without parsing the whole line.
fn customer_of(line: &str) -> Option<&str> {
    let start = CUSTOMER_KEY.find(line.as_bytes())? + CUSTOMER_KEY.needle().len();
    let end = start + memchr::memchr(b'"', &line.as_bytes()[start..])?;
    Some(&line[start..end])
}

/// The `id` of a customer line.
fn id_of(line: &str) -> Option<&str> {
    let start = line.find("\"id\":\"")? + "\"id\":\"".len();
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

/// A block of customers and their lines, read into one buffer: no allocation per line.
#[derive(Default)]
struct Block {
    text: String,
    lines: Vec<Range<usize>>,
    /// Per customer: its own line, then the ranges of `lines` that hold its payments and
    /// its behaviour.
    customers: Vec<(usize, Range<usize>, Range<usize>)>,
}

impl Block {
    /// Empties the block, keeping its buffers for the next customers.
    fn clear(&mut self) {
        self.text.clear();
        self.lines.clear();
        self.customers.clear();
    }

    fn line(&self, index: usize) -> &str {
        &self.text[self.lines[index].clone()]
    }

    /// Reads one line of `reader` onto the end of the text; `None` at the end of the file.
    fn read_line(&mut self, reader: &mut impl BufRead) -> std::io::Result<Option<Range<usize>>> {
        let start = self.text.len();
        if reader.read_line(&mut self.text)? == 0 {
            return Ok(None);
        }
        let end = start + self.text[start..].trim_end_matches(['\n', '\r']).len();
        Ok(Some(start..end))
    }
}

/// The lines of one events file, grouped by customer (the generator writes each customer's
/// lines together); the first line of the next customer waits in the block's text.
struct Grouped {
    reader: BufReader<File>,
    pending: Option<Range<usize>>,
}

impl Grouped {
    fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Grouped {
            reader: BufReader::with_capacity(1 << 20, File::open(path)?),
            pending: None,
        })
    }

    /// Adds `customer`'s lines to `block`; returns which of its `lines` they are.
    fn take(&mut self, customer: &str, block: &mut Block) -> anyhow::Result<Range<usize>> {
        let first = block.lines.len();
        loop {
            let line = match self.pending.take() {
                Some(line) => line,
                None => match block.read_line(&mut self.reader)? {
                    Some(line) => line,
                    None => break,
                },
            };
            if customer_of(&block.text[line.clone()]) != Some(customer) {
                self.pending = Some(line);
                break;
            }
            block.lines.push(line);
        }
        Ok(first..block.lines.len())
    }

    /// Moves the waiting line from a block that is leaving into the next one.
    fn carry(&mut self, from: &Block, to: &mut Block) {
        if let Some(line) = self.pending.take() {
            let start = to.text.len();
            to.text.push_str(&from.text[line]);
            self.pending = Some(start..to.text.len());
        }
    }
}

/// One customer's embedding-model input: features and category sequence.
type ModelInput = (Vec<f32>, Vec<f32>);

/// Sextant's whole path from the files: parse and validate every line, then compute the
/// full feature catalogue, risk assessment and category sequence per customer.
fn sextant_extraction(
    dir: &Path,
    as_of: chrono::DateTime<Utc>,
) -> anyhow::Result<(Extraction, Vec<ModelInput>)> {
    // About 45,000 lines of 12 months: 13 MB of text.
    const BLOCK: usize = 100;
    let started = Instant::now();
    // The rates the file's foreign-currency payments convert at (`sextant generate` writes
    // them beside the events).
    let rates_file = dir.join(generate::FX_RATES_FILE);
    let rates = std::sync::Arc::new(if rates_file.exists() {
        crate::commands::fx::read_table(&rates_file)?
    } else {
        sextant_domain::RateTable::new()
    });
    // One thread reads and splits the files by customer while the pool parses and profiles
    // the previous block; blocks come back to be filled again, so their memory is reused.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(2);
    let (back, returned) = std::sync::mpsc::channel::<Block>();
    let reader_dir = dir.to_owned();
    let reader = std::thread::spawn(move || -> anyhow::Result<(u64, u64)> {
        let mut customers = BufReader::new(File::open(reader_dir.join(CUSTOMERS_FILE))?);
        let mut payments = Grouped::open(&reader_dir.join(PAYMENTS_FILE))?;
        let mut behaviour = Grouped::open(&reader_dir.join(BEHAVIOUR_FILE))?;
        let (mut n_customers, mut n_events) = (0u64, 0u64);
        let mut block = Block::default();
        while let Some(line) = block.read_line(&mut customers)? {
            let id = id_of(&block.text[line.clone()])
                .context("a customer line without id")?
                .to_owned();
            let own = block.lines.len();
            block.lines.push(line);
            let p = payments.take(&id, &mut block)?;
            let b = behaviour.take(&id, &mut block)?;
            n_customers += 1;
            n_events += (p.len() + b.len()) as u64;
            block.customers.push((own, p, b));
            if block.customers.len() == BLOCK {
                let mut next = returned.try_recv().unwrap_or_default();
                next.clear();
                payments.carry(&block, &mut next);
                behaviour.carry(&block, &mut next);
                if tx.send(std::mem::replace(&mut block, next)).is_err() {
                    break;
                }
            }
        }
        let _ = tx.send(block);
        Ok((n_customers, n_events))
    });
    let mut rows = Vec::new();
    for block in rx {
        let done: Vec<anyhow::Result<ModelInput>> = block
            .customers
            .par_iter()
            .map(|(customer, p, b)| {
                let customer: Customer = parse_customer(block.line(*customer), None, Utc::now())
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let mut history = History {
                    customer,
                    payments: Vec::with_capacity(p.len()),
                    behaviour: Vec::with_capacity(b.len()),
                    holdings: Vec::new(),
                    rates: rates.clone(),
                    loyalty: Default::default(),
                };
                for line in p.clone().chain(b.clone()) {
                    match parse_event(block.line(line)).map_err(|e| anyhow::anyhow!("{e:?}"))? {
                        Event::Payment(e) => history.payments.push(e),
                        Event::Behaviour(e) => history.behaviour.push(e),
                    }
                }
                let c = compute(&history, as_of, None);
                Ok((
                    c.profile.features.iter().map(|&v| v as f32).collect(),
                    c.sequence,
                ))
            })
            .collect();
        for row in done {
            rows.push(row?);
        }
        let _ = back.send(block);
    }
    let (n_customers, n_events) = reader.join().expect("the reader thread does not panic")?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((
        Extraction {
            engine: format!("sextant ({} threads)", rayon::current_num_threads()),
            customers: n_customers,
            events: n_events,
            seconds,
            events_per_second: n_events as f64 / seconds,
            customers_per_second: n_customers as f64 / seconds,
            computes: format!("parse + validate every record; all {} catalogue features, risk level, 12-month category sequence", sextant_profiling::catalogue().len()),
        },
        rows,
    ))
}

/// The polars side: a lazy group-by over the same JSON lines computing the core aggregates
/// of the catalogue (income, spend by window and category group, shares, failures,
/// diversity, RFM, engagement). Run in a virtual environment made on first use.
const POLARS_SCRIPT: &str = include_str!("polars_features.py");

fn polars_extraction(
    dir: &Path,
    as_of: chrono::DateTime<Utc>,
    customers: u64,
    events: u64,
) -> anyhow::Result<Extraction> {
    let python =
        crate::python::venv_python("sextant-bench-polars-venv", "import polars", &["polars"])?;
    let script = dir.join("polars_features.py");
    std::fs::write(&script, POLARS_SCRIPT)?;
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg(dir)
        .arg(as_of.to_rfc3339())
        .output()
        .context("running the polars script")?;
    anyhow::ensure!(
        output.status.success(),
        "polars failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("polars printed no JSON")?;
    let seconds = result["seconds"].as_f64().context("no seconds")?;
    Ok(Extraction {
        engine: format!(
            "polars {} ({} threads)",
            result["version"].as_str().unwrap_or("?"),
            result["threads"]
        ),
        customers: result["customers"].as_u64().unwrap_or(customers),
        events,
        seconds,
        events_per_second: events as f64 / seconds,
        customers_per_second: customers as f64 / seconds,
        computes: format!(
            "read the same JSON lines; group-by of {} core aggregates per customer",
            result["aggregates"]
        ),
    })
}

pub async fn profile(options: &ProfileOptions) -> anyhow::Result<ProfileBench> {
    let work = tempfile::tempdir()?;
    let population = work.path().join("population");
    let config = sextant_synth::Config {
        customers: options.customers,
        months: options.months,
        seed: 11,
        end_date: sextant_synth::Config::DEFAULT_END_DATE,
    };
    eprintln!(
        "generating {} customers x {} months",
        options.customers, options.months
    );
    let generated = generate::generate(&config, &population, |_| {})?;
    let as_of =
        Utc.from_utc_datetime(&config.end_date.and_hms_opt(23, 59, 59).expect("valid time"));
    let mut bench = ProfileBench {
        customers: options.customers,
        months: options.months,
        extraction: Vec::new(),
        sextant_to_polars_throughput_ratio: None,
        latencies: Vec::new(),
        embedding_inference_customers_per_second: 0.0,
        vector_points: 0,
        vector_upsert_seconds: 0.0,
        vector_index_build_seconds: 0.0,
        similar_recall_at_10: 0.0,
        skipped: Vec::new(),
    };

    eprintln!("sextant feature extraction");
    let dir = population.clone();
    let (extraction, rows) =
        tokio::task::spawn_blocking(move || sextant_extraction(&dir, as_of)).await??;
    let events = extraction.events;
    bench.extraction.push(extraction);
    if options.polars {
        eprintln!("polars feature extraction");
        match polars_extraction(&population, as_of, generated.customers, events) {
            Ok(e) => {
                bench.sextant_to_polars_throughput_ratio =
                    Some(bench.extraction[0].events_per_second / e.events_per_second);
                bench.extraction.push(e);
            }
            Err(e) => bench.skipped.push(format!("polars: {e:#}")),
        }
    }

    eprintln!("incremental updates");
    let (model, latencies) = incremental(work.path(), &population, options.customers).await?;
    bench.latencies.extend(latencies);

    eprintln!("embedding inference");
    let features: Vec<Vec<f32>> = rows.iter().map(|r| r.0.clone()).collect();
    let sequences: Vec<Vec<f32>> = rows.iter().map(|r| r.1.clone()).collect();
    drop(rows);
    let started = Instant::now();
    let embeddings = model.embed(&features, &sequences)?;
    bench.embedding_inference_customers_per_second =
        embeddings.len() as f64 / started.elapsed().as_secs_f64();

    eprintln!("similar-customer queries on {} vectors", embeddings.len());
    similar(work.path(), embeddings, &mut bench).await?;
    Ok(bench)
}

/// A small imported population (the first 2,000 customers, or all of a smaller one) served
/// by the real pipeline: one new event, then the customer's refresh (history read,
/// features, risk, embedding, vector upsert).
async fn incremental(
    work: &Path,
    population: &Path,
    population_size: u64,
) -> anyhow::Result<(Arc<EmbeddingModel>, Vec<Latency>)> {
    const SUBSET_MAX: u64 = 2_000;
    const SAMPLES: usize = 1_000;
    let customers = SUBSET_MAX.min(population_size) as usize;
    let subset = work.join("subset");
    std::fs::create_dir_all(&subset)?;
    for name in [CUSTOMERS_FILE, PAYMENTS_FILE, BEHAVIOUR_FILE] {
        let keep: HashSet<String> = (1..=customers).map(|i| format!("c{i:07}")).collect();
        let mut out = String::new();
        for line in BufReader::new(File::open(population.join(name))?).lines() {
            let line = line?;
            let id = if name == CUSTOMERS_FILE {
                id_of(&line)
            } else {
                customer_of(&line)
            };
            if id.is_some_and(|id| keep.contains(id)) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        std::fs::write(subset.join(name), out)?;
    }
    let store: Arc<dyn Store> =
        crate::bench::scratch_store(None, &work.join("incremental-db")).await?;
    crate::commands::import::import(store.clone(), &subset, |_, _, _| {}).await?;
    let vectors: Arc<dyn VectorStore> =
        Arc::new(EdgeStore::open(&work.join("incremental-vectors"), 32)?);
    let pipeline = Pipeline::open(store.clone(), vectors, &work.join("models")).await?;
    let now = Utc::now();
    let config = EmbeddingConfig {
        epochs: 20,
        ..EmbeddingConfig::default()
    };
    let outcome = pipeline.train(&config, now, |_, _| {}).await?;
    eprintln!(
        "  model {} trained on {} customers",
        outcome.model, outcome.customers
    );

    let mut refresh_ms = Vec::with_capacity(SAMPLES);
    let mut end_to_end_ms = Vec::with_capacity(SAMPLES);
    let mut stage_ms: [Vec<f64>; 6] = Default::default();
    for i in 0..SAMPLES {
        let customer = format!("c{:07}", 1 + (i * 7919) % customers);
        let line = format!(
            r#"{{"type":"payment","event_id":"bench-{i}","customer_id":"{customer}","occurred_at":"{}","amount_minor":1999,"currency":"EUR","direction":"debit","kind":"purchase","channel":"online","mcc":"5411","country":"CZ"}}"#,
            sextant_services::records::format_timestamp(now - Duration::minutes(5))
        );
        let event = parse_event(&line).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let started = Instant::now();
        store
            .ingest(
                std::slice::from_ref(&event),
                &Actor::system("bench"),
                Utc::now(),
            )
            .await?;
        let refreshing = Instant::now();
        let (_, stages) = pipeline.refresh_timed(event.customer_id()).await?;
        refresh_ms.push(refreshing.elapsed().as_secs_f64() * 1e3);
        end_to_end_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let stages = [
            stages.read,
            stages.compute,
            stages.assessment,
            stages.embed,
            stages.vector,
            stages.profile,
        ];
        for (samples, took) in stage_ms.iter_mut().zip(stages) {
            samples.push(took.as_secs_f64() * 1e3);
        }
    }
    let [read, compute, assessment, embed, vector, profile] = stage_ms;
    let model = pipeline.model().context("the model was just trained")?.1;
    Ok((
        model,
        vec![
            latency(
                &format!("profile refresh after one event (SQLite, {customers} customers)"),
                refresh_ms,
            ),
            latency(
                "  stage: lock, read history, answers, last assessment",
                read,
            ),
            latency("  stage: features, risk level, sequence", compute),
            latency("  stage: record the assessment if it changed", assessment),
            latency("  stage: embedding, nearest segment", embed),
            latency(
                "  stage: vector upsert (qdrant-edge, flushed in the background)",
                vector,
            ),
            latency("  stage: profile write", profile),
            latency("ingest one event + refresh", end_to_end_ms),
        ],
    ))
}

fn exact_top(vectors: &[Vec<f32>], query: &[f32], k: usize, skip: usize) -> Vec<usize> {
    // Embeddings are unit-norm: cosine similarity is the dot product.
    let mut scored: Vec<(f32, usize)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(k);
    scored.into_iter().map(|(_, i)| i).collect()
}

async fn similar(
    work: &Path,
    embeddings: Vec<Vec<f32>>,
    bench: &mut ProfileBench,
) -> anyhow::Result<()> {
    const QUERIES: usize = 500;
    const SEGMENTS: u32 = 8;
    let store = EdgeStore::open(&work.join("bench-vectors"), 32)?;
    let points: Vec<Point> = embeddings
        .iter()
        .enumerate()
        .map(|(i, v)| Point {
            customer_id: format!("c{:07}", i + 1),
            vector: v.clone(),
            payload: Payload {
                customer_id: format!("c{:07}", i + 1),
                segment: Some(i as u32 % SEGMENTS),
                region: "bench".into(),
                profiling_consent: true,
                marketing_channels: vec![],
            },
        })
        .collect();
    bench.vector_points = points.len();
    let started = Instant::now();
    for chunk in points.chunks(10_000) {
        store.upsert(chunk.to_vec()).await?;
    }
    bench.vector_upsert_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    store.optimize().await?;
    bench.vector_index_build_seconds = started.elapsed().as_secs_f64();

    let (mut plain_ms, mut filtered_ms, mut recall_hits) = (Vec::new(), Vec::new(), 0usize);
    for q in 0..QUERIES {
        let i = (q * 104_729) % embeddings.len();
        let query = &embeddings[i];
        let exclude = Filter {
            exclude_customer: Some(format!("c{:07}", i + 1)),
            ..Filter::default()
        };
        let started = Instant::now();
        let hits = store.search(query, 10, &exclude).await?;
        plain_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let truth: HashSet<String> = exact_top(&embeddings, query, 10, i)
            .into_iter()
            .map(|j| format!("c{:07}", j + 1))
            .collect();
        recall_hits += hits
            .iter()
            .filter(|h| truth.contains(&h.customer_id))
            .count();
        let by_segment = Filter {
            segment: Some(q as u32 % SEGMENTS),
            profiling_consent: Some(true),
            ..Filter::default()
        };
        let started = Instant::now();
        store.search(query, 10, &by_segment).await?;
        filtered_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    bench.similar_recall_at_10 = recall_hits as f64 / (QUERIES * 10) as f64;
    bench.latencies.push(latency(
        &format!("similar customers, k=10, {} vectors", embeddings.len()),
        plain_ms,
    ));
    bench.latencies.push(latency(
        "similar customers, k=10, filtered by segment and consent",
        filtered_ms,
    ));
    Ok(())
}

impl Report for ProfileBench {
    fn print_table(&self) {
        let b = self;
        println!(
            "Profiling benchmark: {} customers x {} months (synthetic), this machine",
            b.customers, b.months
        );
        println!();
        println!("Feature extraction from the generated JSON lines:");
        println!(
            "{:<30} {:>9} {:>11} {:>9} {:>12} {:>12}",
            "engine", "customers", "events", "seconds", "events/s", "customers/s"
        );
        for e in &b.extraction {
            println!(
                "{:<30} {:>9} {:>11} {:>9.2} {:>12.0} {:>12.0}",
                e.engine,
                e.customers,
                e.events,
                e.seconds,
                e.events_per_second,
                e.customers_per_second
            );
        }
        for e in &b.extraction {
            println!("  {}: {}", e.engine, e.computes);
        }
        if let Some(ratio) = b.sextant_to_polars_throughput_ratio {
            println!("  sextant / polars, events per second: {ratio:.2}x");
        }
        println!();
        println!(
            "{:<62} {:>8} {:>10} {:>10} {:>10}",
            "latency", "samples", "p50 ms", "p99 ms", "max ms"
        );
        for l in &b.latencies {
            println!(
                "{:<62} {:>8} {:>10.3} {:>10.3} {:>10.3}",
                l.what, l.samples, l.p50_ms, l.p99_ms, l.max_ms
            );
        }
        println!();
        println!(
            "embedding inference: {:.0} customers/s",
            b.embedding_inference_customers_per_second
        );
        println!(
            "vector store (qdrant-edge): {} points upserted in {:.1}s, index built in {:.1}s, recall@10 vs exact search {:.3}",
            b.vector_points, b.vector_upsert_seconds, b.vector_index_build_seconds, b.similar_recall_at_10
        );
        for s in &b.skipped {
            println!("skipped: {s}");
        }
    }
}
