//! Measures the edge store at a realistic size and prints a table. Not a test: numbers depend
//! on the machine. Run with
//!
//! ```text
//! cargo run --release -p sextant-vectors --example edge_bench [points] [dim] [indexing_kb] [full_scan_kb]
//! ```
//!
//! Defaults: 100,000 points of 32 dimensions, upserted in calls of 1,000, default EdgeOptions.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use sextant_vectors::{EdgeOptions, EdgeStore, Filter, Payload, Point, VectorStore};

const UPSERT_CALL_POINTS: usize = 1_000;
const LATENCY_QUERIES: usize = 1_000;
const RECALL_QUERIES: usize = 200;
const SINGLE_UPSERTS: usize = 200;
const REGIONS: [&str; 5] = ["north", "south", "east", "west", "centre"];
const CHANNELS: [&str; 3] = ["email", "push", "sms"];

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().expect("points"));
    let dim: usize = args.next().map_or(32, |a| a.parse().expect("dim"));
    let defaults = EdgeOptions::default();
    let options = EdgeOptions {
        indexing_threshold_kb: args.next().map_or(defaults.indexing_threshold_kb, |a| {
            a.parse().expect("indexing_kb")
        }),
        full_scan_threshold_kb: args.next().map_or(defaults.full_scan_threshold_kb, |a| {
            a.parse().expect("full_scan_kb")
        }),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EdgeStore::open_with(dir.path(), dim, options).expect("open");
    let mut rng = Rng(2024);
    let points: Vec<Point> = (0..n).map(|i| customer(i, rng.vector(dim))).collect();

    println!("edge store, {n} points x {dim} dims, {options:?}\n");
    println!("{:<44} {:>12}", "measure", "value");
    let started = Instant::now();
    for call in points.chunks(UPSERT_CALL_POINTS) {
        store.upsert(call.to_vec()).await.expect("upsert");
    }
    let upsert = started.elapsed();
    row(
        "upsert (calls of 1,000, flushed), points/s",
        n as f64 / upsert.as_secs_f64(),
    );
    println!("{:<44} {:>12?}", "  stats before optimize", store.stats());

    single_upsert_rows(&store, &mut rng, dim, n, "before optimize").await;
    let filters = sample_filters();
    latency_rows(&store, &mut rng, dim, &filters, "before optimize").await;

    let started = Instant::now();
    store.optimize().await.expect("optimize");
    row("optimize (HNSW build), s", started.elapsed().as_secs_f64());
    println!("{:<44} {:>12?}", "  stats after optimize", store.stats());

    single_upsert_rows(&store, &mut rng, dim, n, "after optimize").await;
    latency_rows(&store, &mut rng, dim, &filters, "after optimize").await;
    recall_rows(&store, &points, &mut rng, &filters).await;
    row(
        "directory size, MiB",
        dir_size(dir.path()) as f64 / (1 << 20) as f64,
    );
    row(
        "  of which write-ahead log, MiB",
        dir_size(&dir.path().join("wal")) as f64 / (1 << 20) as f64,
    );

    drop(store);
    let started = Instant::now();
    let store = EdgeStore::open_with(dir.path(), dim, options).expect("reopen");
    row("reopen, ms", ms(started.elapsed()));
    row(
        "count after reopen",
        store.count().await.expect("count") as f64,
    );
}

fn customer(i: usize, vector: Vec<f32>) -> Point {
    let id = format!("c-{i:07}");
    let channels = CHANNELS
        .iter()
        .enumerate()
        .filter(|(c, _)| (i >> c) & 1 == 1)
        .map(|(_, name)| name.to_string())
        .collect();
    Point {
        customer_id: id.clone(),
        vector,
        payload: Payload {
            customer_id: id,
            segment: Some((i % 8) as u32),
            region: REGIONS[i % REGIONS.len()].to_string(),
            profiling_consent: i % 10 < 7,
            marketing_channels: channels,
        },
    }
}

/// A label, the filter, and which customer indexes it lets through (for exact answers).
type NamedFilter = (&'static str, Filter, fn(usize) -> bool);

/// Filters from broad to narrow.
fn sample_filters() -> Vec<NamedFilter> {
    vec![
        ("none", Filter::default(), |_| true),
        (
            "consent (70%)",
            Filter {
                profiling_consent: Some(true),
                ..Filter::default()
            },
            |i| i % 10 < 7,
        ),
        (
            "region (20%)",
            Filter {
                region: Some("north".into()),
                ..Filter::default()
            },
            |i| i % 5 == 0,
        ),
        (
            "segment+consent+push (~4%)",
            Filter {
                segment: Some(3),
                profiling_consent: Some(true),
                marketing_channel: Some("push".into()),
                ..Filter::default()
            },
            |i| i % 8 == 3 && i % 10 < 7 && (i >> 1) & 1 == 1,
        ),
    ]
}

/// One customer's embedding changes: the api's steady state after the bulk load.
async fn single_upsert_rows(store: &EdgeStore, rng: &mut Rng, dim: usize, n: usize, when: &str) {
    let mut latencies = Vec::with_capacity(SINGLE_UPSERTS);
    for i in 0..SINGLE_UPSERTS {
        let point = customer(i * 997 % n, rng.vector(dim));
        let started = Instant::now();
        store.upsert(vec![point]).await.expect("upsert");
        latencies.push(started.elapsed());
    }
    percentile_row(&format!("upsert of 1 point {when}"), latencies);
}

fn percentile_row(name: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "{name:<44} {:>12}",
        format!("{:.3}/{:.3} ms", ms(p50), ms(p99))
    );
}

async fn latency_rows(
    store: &EdgeStore,
    rng: &mut Rng,
    dim: usize,
    filters: &[NamedFilter],
    when: &str,
) {
    for (name, filter, _) in filters {
        let mut latencies = Vec::with_capacity(LATENCY_QUERIES);
        for _ in 0..LATENCY_QUERIES {
            let query = rng.vector(dim);
            let started = Instant::now();
            store.search(&query, 10, filter).await.expect("search");
            latencies.push(started.elapsed());
        }
        percentile_row(&format!("search k=10 {when}, filter {name}"), latencies);
    }
    println!("  (p50/p99 over {LATENCY_QUERIES} queries)");
}

async fn recall_rows(store: &EdgeStore, points: &[Point], rng: &mut Rng, filters: &[NamedFilter]) {
    let normalised: Vec<Vec<f32>> = points.iter().map(|p| unit(&p.vector)).collect();
    let dim = points[0].vector.len();
    for (name, filter, allowed) in filters {
        let mut found = 0;
        for _ in 0..RECALL_QUERIES {
            let query = rng.vector(dim);
            let exact = exact_top10(&normalised, &unit(&query), *allowed);
            let hits = store.search(&query, 10, filter).await.expect("search");
            found += hits
                .iter()
                .filter(|h| {
                    exact
                        .iter()
                        .any(|&i| points[i].customer_id == h.customer_id)
                })
                .count();
        }
        row(
            &format!("recall@10, filter {name}"),
            found as f64 / (RECALL_QUERIES * 10) as f64,
        );
    }
}

fn exact_top10(points: &[Vec<f32>], query: &[f32], allowed: fn(usize) -> bool) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| allowed(*i))
        .map(|(i, p)| (p.iter().zip(query).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(10).map(|(_, i)| i).collect()
}

fn unit(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.iter().map(|x| x / norm).collect()
}

fn row(name: &str, value: f64) {
    println!("{name:<44} {value:>12.3}");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            // Blocks actually allocated: the log and segments are sparse, preallocated files.
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// Deterministic uniform numbers in [-1, 1) (splitmix64).
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next_f32()).collect()
    }
}
