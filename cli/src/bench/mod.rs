//! Benchmarks that print tables. `sextant bench portfolio` (in [`portfolio`]) compares the
//! optimisers with PyPortfolioOpt; `sextant bench profile` the profiling pipeline with polars;
//! `sextant bench ingest`: events per second through `import` into SQLite and PostgreSQL,
//! with transaction monitoring and the loyalty rules off and on, and through
//! `POST /v1/events` (batches of 500, monitored and earning as served) into SQLite over
//! loopback.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{AppState, Application};
use sextant_services::monitoring::Monitor;
use sextant_services::pipeline::Pipeline;
use sextant_services::Context as ServiceContext;
use sextant_store::{ScratchDatabase, SeaStore, Store};
use sextant_vectors::{EdgeStore, VectorStore};

use crate::commands::generate::{self, BEHAVIOUR_FILE, CUSTOMERS_FILE, PAYMENTS_FILE};
use crate::commands::import::{self, FileKind};
use crate::output::Report;

pub mod console;
mod credit;
/// A store for a benchmark's or an evaluation's throwaway database: its master key is a
/// random one that lives only as long as the process, as the database does.
pub async fn scratch_store(
    database_url: Option<&str>,
    dir: &Path,
) -> anyhow::Result<Arc<dyn Store>> {
    let keyring = Arc::new(sextant_store::crypto::Keyring::ephemeral());
    Ok(Arc::new(SeaStore::open(database_url, dir, keyring).await?))
}

/// Waits until the server's start-up work is done (the read model, the audience index and
/// the monitoring states are built from the database when it starts), so an offered load
/// measures the steady state; returns how many customers the read model holds.
pub async fn read_model_built(ctx: &ServiceContext) -> usize {
    let started = Instant::now();
    // The start-up builds, and the read-back of customers an earlier step changed (a
    // campaign launch drops every member).
    while !ctx.readiness().idle() || ctx.read_model().status().refill_pending > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = ctx.read_model().status();
    eprintln!(
        "start-up work done: {} customers in the read model (waited {:.1} s)",
        status.customers,
        started.elapsed().as_secs_f64()
    );
    status.customers
}

pub mod loadgen;
pub mod loyalty;
pub mod marketing;
pub mod monitoring;
mod portfolio;
mod profile;
pub use credit::{credit, CreditBenchOptions};
pub use portfolio::{portfolio, PortfolioOptions};
pub use profile::{profile, ProfileOptions};

#[derive(Debug, Clone, Serialize)]
pub struct IngestRow {
    /// `sextant import` or `POST /v1/events`.
    pub path: String,
    /// Whether each stored payment was evaluated by transaction monitoring.
    pub monitoring: bool,
    /// Whether the loyalty rules ran on each stored purchase and refund.
    pub loyalty: bool,
    pub backend: String,
    pub events: u64,
    pub seconds: f64,
    pub events_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct IngestBench {
    pub customers: u64,
    pub months: u32,
    pub rows: Vec<IngestRow>,
    /// What the loyalty rules cost an import: the same import with them and without.
    pub loyalty_cost: Vec<LoyaltyCost>,
    /// Why a row is missing (e.g. PostgreSQL unreachable).
    pub skipped: Vec<String>,
}

/// One import with the loyalty rules against the same without them.
#[derive(Debug, Serialize)]
pub struct LoyaltyCost {
    pub backend: String,
    pub monitoring: bool,
    pub events_per_second_without: f64,
    pub events_per_second_with: f64,
    /// How much longer the import took with earning, in percent (the aim: at most 15).
    pub slower_percent: f64,
}

pub struct IngestOptions {
    pub customers: u64,
    pub months: u32,
    pub postgres_admin_url: Option<String>,
    /// Events sent through HTTP (a bounded sample of the population).
    pub http_events: usize,
    pub http_batch: usize,
    pub http_clients: usize,
}

/// What follows each stored batch in a row: (monitoring, loyalty).
type Following = (bool, bool);

fn row(path: &str, following: Following, backend: &str, events: u64, seconds: f64) -> IngestRow {
    IngestRow {
        path: path.into(),
        monitoring: following.0,
        loyalty: following.1,
        backend: backend.into(),
        events,
        seconds,
        events_per_second: events as f64 / seconds.max(1e-9),
    }
}

async fn import_events(
    store: Arc<dyn Store>,
    population: &Path,
    (monitoring, loyalty): Following,
) -> anyhow::Result<(u64, f64)> {
    let monitor = Monitor::default();
    let rules = sextant_services::loyalty::rules();
    let followers = import::Followers {
        monitor: monitoring.then_some(&monitor),
        loyalty: loyalty.then_some(&rules),
    };
    let report = import::import_followed(store, followers, population, |_, _, _| {}).await?;
    anyhow::ensure!(
        report.error_count == 0,
        "the generated population did not import cleanly: {:?}",
        report.errors.first()
    );
    let events = report
        .files
        .iter()
        .filter(|f| matches!(f.kind, Some(FileKind::Payments | FileKind::Behaviour)));
    let (n, s) = events.fold((0, 0.0), |(n, s), f| {
        (n + f.records, s + f.elapsed.as_secs_f64())
    });
    Ok((n, s))
}

pub async fn ingest(options: &IngestOptions) -> anyhow::Result<IngestBench> {
    let work = tempfile::tempdir()?;
    let population = work.path().join("population");
    let config = sextant_synth::Config {
        customers: options.customers,
        months: options.months,
        seed: 7,
        end_date: sextant_synth::Config::DEFAULT_END_DATE,
    };
    let generated = generate::generate(&config, &population, |_| {})?;
    eprintln!(
        "generated {} customers, {} payments, {} behaviour events",
        generated.customers, generated.payments, generated.behaviour
    );
    let mut bench = IngestBench {
        customers: options.customers,
        months: options.months,
        rows: Vec::new(),
        loyalty_cost: Vec::new(),
        skipped: Vec::new(),
    };

    const SQLITE: [Following; 4] = [(false, false), (false, true), (true, false), (true, true)];
    for following in SQLITE {
        let folder = format!("sqlite-import-{}-{}", following.0, following.1);
        let sqlite: Arc<dyn Store> = scratch_store(None, &work.path().join(folder)).await?;
        let (events, seconds) = import_events(sqlite, &population, following).await?;
        bench
            .rows
            .push(row("sextant import", following, "sqlite", events, seconds));
    }

    const POSTGRES: [Following; 3] = [(false, false), (false, true), (true, true)];
    for following in POSTGRES {
        match &options.postgres_admin_url {
            Some(admin) => match postgres_import(admin, &population, following).await {
                Ok((events, seconds)) => bench.rows.push(row(
                    "sextant import",
                    following,
                    "postgres",
                    events,
                    seconds,
                )),
                Err(e) => bench.skipped.push(format!("postgres import: {e:#}")),
            },
            None if following != (false, false) => {}
            None => bench
                .skipped
                .push("postgres import: no --postgres-url".into()),
        }
    }
    bench.loyalty_cost = loyalty_cost(&bench.rows);

    let (events, seconds) = http_ingest(work.path(), &population, options).await?;
    bench.rows.push(row(
        &format!("POST /v1/events ({} per batch)", options.http_batch),
        (true, true),
        "sqlite",
        events,
        seconds,
    ));
    Ok(bench)
}

/// Imports into a fresh database on the server behind `admin_url`, dropped afterwards.
async fn postgres_import(
    admin_url: &str,
    population: &Path,
    following: Following,
) -> anyhow::Result<(u64, f64)> {
    let name = format!("sextant_bench_{}", std::process::id());
    let scratch = ScratchDatabase::create(admin_url, &name)
        .await
        .context("cannot reach PostgreSQL")?;
    let result = async {
        let store: Arc<dyn Store> = scratch_store(Some(&scratch.url), Path::new(".")).await?;
        import_events(store, population, following).await
    }
    .await;
    let _ = scratch.remove().await;
    result
}

/// Serves a fresh SQLite store on a loopback port and posts batches from several client
/// threads, as the payment app's back end would.
async fn http_ingest(
    work: &Path,
    population: &Path,
    options: &IngestOptions,
) -> anyhow::Result<(u64, f64)> {
    let store: Arc<dyn Store> = scratch_store(None, &work.join("sqlite-http")).await?;
    let customers_only = work.join("customers-only");
    std::fs::create_dir_all(&customers_only)?;
    std::fs::copy(
        population.join(CUSTOMERS_FILE),
        customers_only.join(CUSTOMERS_FILE),
    )?;
    import::import(store.clone(), &customers_only, |_, _, _| {}).await?;

    let mut lines = Vec::with_capacity(options.http_events);
    for name in [PAYMENTS_FILE, BEHAVIOUR_FILE] {
        let reader = BufReader::new(std::fs::File::open(population.join(name))?);
        for line in reader.lines() {
            if lines.len() >= options.http_events {
                break;
            }
            lines.push(line?);
        }
    }
    let bodies: Vec<String> = lines
        .chunks(options.http_batch)
        .map(|c| format!("{{\"events\":[{}]}}", c.join(",")))
        .collect();

    // The service as deployed: ingestion also queues background profile refreshes.
    let vectors: Arc<dyn VectorStore> = Arc::new(EdgeStore::open(&work.join("vectors-http"), 32)?);
    let pipeline = Pipeline::open(store, vectors, &work.join("models-http")).await?;
    let ctx = ServiceContext::new(Arc::new(pipeline));
    let app = Application::build(
        "127.0.0.1:0".parse()?,
        AppState::with_limits(ctx, Authenticator::development(), Limits::unthrottled()),
    )
    .await?;
    let url = format!("http://{}/v1/events", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    let token = mint_dev_token(Role::Service, "bench", 3600);
    let clients = options.http_clients.max(1);
    let started = Instant::now();
    let sent = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let bodies = Arc::new(bodies);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                let (bodies, next, url, token) =
                    (bodies.clone(), next.clone(), url.clone(), token.clone());
                std::thread::spawn(move || -> anyhow::Result<u64> {
                    let agent = ureq::AgentBuilder::new().build();
                    let mut accepted = 0;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else {
                            return Ok(accepted);
                        };
                        let response: serde_json::Value = agent
                            .post(&url)
                            .set("Authorization", &format!("Bearer {token}"))
                            .set("Content-Type", "application/json")
                            .send_string(body)?
                            .into_json()?;
                        accepted += response["accepted"]
                            .as_u64()
                            .context("no `accepted` in the receipt")?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client threads do not panic"))
            .sum()
    })
    .await??;
    let seconds = started.elapsed().as_secs_f64();
    server.abort();
    Ok((sent, seconds))
}

/// Each import with the loyalty rules against the same import without them.
fn loyalty_cost(rows: &[IngestRow]) -> Vec<LoyaltyCost> {
    let imports = || rows.iter().filter(|r| r.path == "sextant import");
    imports()
        .filter(|r| r.loyalty)
        .filter_map(|with| {
            let without = imports().find(|r| {
                !r.loyalty && r.backend == with.backend && r.monitoring == with.monitoring
            })?;
            Some(LoyaltyCost {
                backend: with.backend.clone(),
                monitoring: with.monitoring,
                events_per_second_without: without.events_per_second,
                events_per_second_with: with.events_per_second,
                slower_percent: (with.seconds / without.seconds.max(1e-9) - 1.0) * 100.0,
            })
        })
        .collect()
}

impl Report for IngestBench {
    fn print_table(&self) {
        let bench = self;
        println!(
            "Ingest throughput: {} customers x {} months (synthetic), this machine",
            bench.customers, bench.months
        );
        let on_off = |b: bool| if b { "on" } else { "off" };
        println!(
            "{:<34} {:<11} {:<8} {:<9} {:>11} {:>9} {:>12}",
            "path", "monitoring", "loyalty", "backend", "events", "seconds", "events/s"
        );
        for r in &bench.rows {
            println!(
                "{:<34} {:<11} {:<8} {:<9} {:>11} {:>9.2} {:>12.0}",
                r.path,
                on_off(r.monitoring),
                on_off(r.loyalty),
                r.backend,
                r.events,
                r.seconds,
                r.events_per_second
            );
        }
        if !bench.loyalty_cost.is_empty() {
            println!();
            println!("What earning points costs an import (aim: at most 15% slower)");
            println!(
                "{:<9} {:<11} {:>16} {:>16} {:>8}",
                "backend", "monitoring", "events/s without", "events/s with", "slower"
            );
            for c in &bench.loyalty_cost {
                println!(
                    "{:<9} {:<11} {:>16.0} {:>16.0} {:>7.1}%",
                    c.backend,
                    on_off(c.monitoring),
                    c.events_per_second_without,
                    c.events_per_second_with,
                    c.slower_percent
                );
            }
        }
        for s in &bench.skipped {
            println!("skipped: {s}");
        }
    }
}
