//! `sextant bench credit`: instalment-quote latency as the payment app sees it, and credit
//! model training time.
//!
//! A synthetic population is generated, imported into a fresh SQLite store, profiled, and a
//! credit model is trained on it; the real server then answers `POST /v1/instalments/quote`
//! on a loopback port while `sextant bench loadgen`, a separate process, offers a constant
//! rate (open loop). Every quote is decided and recorded as in production. Training time is
//! measured on the Taiwan default file when it is there (`../shared/data/credit/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{AppState, Application};
use sextant_models::credit::{CreditModel, CreditModelKind, FitOptions, TrainingInfo};
use sextant_models::tabular::{Table, TableOptions};
use sextant_services::lending::operations::train_population;
use sextant_services::pipeline::Pipeline;
use sextant_services::Context as ServiceContext;
use sextant_store::{Actor, Store, PAGE_MAX};
use sextant_vectors::{EdgeStore, VectorStore};

use super::loadgen::{
    measured_runs, percentile, print_runs, worst, LoadOptions, LoadReport, LoadRun,
};
use crate::commands::generate::{self, Truth, TRUTH_FILE};
use crate::commands::import;
use crate::output::Report;

/// The load generator's warm-up, as `sextant bench loadgen` has it by default.
const WARMUP_SECONDS: u32 = 2;

#[derive(clap::Args)]
pub struct CreditBenchOptions {
    #[arg(long, default_value_t = 2_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Quotes offered per second.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    #[arg(long, default_value_t = 30)]
    pub seconds: u32,
    /// Consecutive offered-load runs against the same server; the headline figures are the
    /// worst run's.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// The Taiwan default CSV for the training-time figures; skipped when missing.
    #[arg(long, default_value = "../shared/data/credit/taiwan_default.csv")]
    pub taiwan: PathBuf,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct TrainTime {
    pub data: String,
    pub model: String,
    pub rows: usize,
    pub features: usize,
    pub fit_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct CreditBench {
    pub customers: u64,
    pub months: u32,
    pub load_generator: String,
    /// Customers in the serving read model when the load started.
    pub read_model_customers: usize,
    /// Every run, in order, with the CPU time each side spent per request.
    pub quote_runs: Vec<LoadRun>,
    /// The worst run (highest p99).
    pub quote: LoadReport,
    /// Share of quotes approved with at least one plan.
    pub quote_approved_share: f64,
    /// Scoring plus policy for one customer, in process, without I/O.
    pub decide_us_p50: f64,
    pub decide_us_p99: f64,
    pub training: Vec<TrainTime>,
    pub skipped: Vec<String>,
}

pub async fn credit(options: &CreditBenchOptions) -> anyhow::Result<CreditBench> {
    let work = std::env::temp_dir().join(format!("sextant-bench-credit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = run(options, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn run(options: &CreditBenchOptions, work: &Path) -> anyhow::Result<CreditBench> {
    let population = work.join("population");
    let config = sextant_synth::Config {
        customers: options.customers,
        months: options.months,
        seed: options.seed,
        end_date: Utc::now().date_naive() - chrono::Duration::days(1),
    };
    eprintln!(
        "generating, importing and profiling {} customers x {} months",
        options.customers, options.months
    );
    generate::generate(&config, &population, |_| {})?;
    let store: Arc<dyn Store> = crate::bench::scratch_store(None, &work.join("db")).await?;
    import::import(store.clone(), &population, |_, _, _| {}).await?;
    let vectors: Arc<dyn VectorStore> = Arc::new(EdgeStore::open(&work.join("vectors"), 32)?);
    let pipeline = Pipeline::open(store.clone(), vectors, &work.join("models")).await?;
    pipeline.profile_all(Utc::now(), |_| {}).await?;
    let truth = population.join(TRUTH_FILE);
    let outcomes = Truth::read(&truth)?;
    let trained = train_population(
        store.as_ref(),
        outcomes.labels(),
        CreditModelKind::Gbm,
        options.seed,
        &Actor::system("bench"),
    )
    .await?;
    eprintln!(
        "credit model {} trained (CV AUC {:.3})",
        trained.model_version, trained.cv_auc_mean
    );

    // Measure the steady state: the import's write-ahead log is folded back first, so the
    // quotes do not share the disk with that one-off checkpoint.
    store.checkpoint().await?;
    let ctx = ServiceContext::new(Arc::new(pipeline));
    let (decide_us_p50, decide_us_p99) = time_decisions(&ctx).await?;
    let customers = customer_ids(store.as_ref()).await?;
    let bodies = work.join("quotes.jsonl");
    std::fs::write(&bodies, quote_bodies(&customers)?)?;

    let state = AppState::with_limits(
        ctx.clone(),
        Authenticator::development(),
        Limits::unthrottled(),
    );
    let app = Application::build("127.0.0.1:0".parse()?, state).await?;
    let url = format!("http://{}/v1/instalments/quote", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    let read_model_customers = super::read_model_built(&ctx).await;
    let load = LoadOptions {
        url,
        token: mint_dev_token(Role::Service, "bench", 3600),
        bodies,
        get: false,
        rate: options.rate,
        seconds: options.seconds,
        warmup_seconds: WARMUP_SECONDS,
        connections: options.connections,
        idempotency_keys: false,
    };
    let quote_runs = measured_runs("quotes", options.runs, &load).await;
    server.abort();
    let quote_runs = quote_runs?;
    let quote = worst(&quote_runs).expect("at least one run").load.clone();
    let counts = store.outcome_counts("instalment_quote").await?;
    let quote_approved_share = counts.approved as f64 / counts.decisions.max(1) as f64;

    let mut training = Vec::new();
    let mut skipped = Vec::new();
    if options.taiwan.exists() {
        training = taiwan_training(&options.taiwan, options.seed)?;
    } else {
        skipped.push(format!(
            "training time: {} is not there",
            options.taiwan.display()
        ));
    }
    Ok(CreditBench {
        customers: options.customers,
        months: options.months,
        load_generator: "sextant bench loadgen: separate process, open loop, latency from each request's due time".into(),
        read_model_customers,
        quote_runs,
        quote,
        quote_approved_share,
        decide_us_p50,
        decide_us_p99,
        training,
        skipped,
    })
}

/// One quote request per customer, one JSON body per line, basket sizes from 30 to 1,500
/// euros spread over the customers.
fn quote_bodies(customers: &[String]) -> anyhow::Result<String> {
    let mut lines = String::new();
    for (i, id) in customers.iter().enumerate() {
        let amount_minor = 3_000 + (i as i64 * 7_919) % 147_000;
        lines.push_str(&serde_json::to_string(&serde_json::json!({
            "customer_id": id,
            "merchant_id": format!("m-bench-{}", i % 50),
            "amount_minor": amount_minor,
            "currency": "EUR",
        }))?);
        lines.push('\n');
    }
    Ok(lines)
}

async fn customer_ids(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store.profiles(after.as_ref(), 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        ids.extend(page.into_iter().map(|p| p.customer_id.to_string()));
    }
    anyhow::ensure!(!ids.is_empty(), "no profiled customers");
    Ok(ids)
}

/// Scoring and policy alone, per customer, over every stored profile.
async fn time_decisions(ctx: &ServiceContext) -> anyhow::Result<(f64, f64)> {
    let lender = ctx.lender().await?;
    let mut timings = Vec::new();
    let mut after = None;
    let today = Utc::now().date_naive();
    loop {
        let page = ctx.store.profiles(after.as_ref(), PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for profile in page {
            let Some(customer) = ctx.store.customer(&profile.customer_id).await? else {
                continue;
            };
            let started = Instant::now();
            let inputs = lender.inputs(
                &customer.customer,
                &profile.features,
                profile.as_of,
                sextant_lending::CreditRequest::Instalment {
                    amount_minor: 60_000,
                    merchant: "m-bench".into(),
                },
                today,
            );
            lender.decide(&inputs)?;
            timings.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    timings.sort_by(f64::total_cmp);
    Ok((percentile(&timings, 0.5), percentile(&timings, 0.99)))
}

fn taiwan_training(path: &Path, seed: u64) -> anyhow::Result<Vec<TrainTime>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let options = TableOptions {
        drop: vec!["ID".into()],
        ..TableOptions::default()
    };
    let mut table = Table::parse(&bytes[..], &options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let y = table
        .take_target("DEFAULT", None)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut times = Vec::new();
    for kind in [CreditModelKind::Scorecard, CreditModelKind::Gbm] {
        eprintln!("training the {} on {}", kind.name(), path.display());
        let info = TrainingInfo {
            source: path.display().to_string(),
            data_sha256: sextant_hash::sha256_hex(&bytes),
            trained_at: Utc::now().to_rfc3339(),
            target: "DEFAULT".into(),
            positive_label: "1".into(),
        };
        let started = Instant::now();
        CreditModel::fit(&table, &y, &FitOptions::new(kind, seed), info)?;
        times.push(TrainTime {
            data: "Taiwan default (UCI)".into(),
            model: kind.name().into(),
            rows: y.len(),
            features: table.columns.len(),
            fit_seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(times)
}

impl Report for CreditBench {
    fn print_table(&self) {
        let b = self;
        let q = &b.quote;
        println!(
            "Instalment quotes: POST /v1/instalments/quote, {} customers x {} months (synthetic), SQLite, this machine",
            b.customers, b.months
        );
        println!("load generator: {}", b.load_generator);
        println!(
            "{} customers in the serving read model when the load started",
            b.read_model_customers
        );
        print_runs(&b.quote_runs, 201);
        println!("worst run (p99 aim < 5 ms):");
        let statuses = q.print_latency_table();
        println!(
            "responses: {}; approved {:.1}%",
            statuses.join(", "),
            100.0 * b.quote_approved_share
        );
        println!(
            "scoring + policy in process: p50 {:.1} us, p99 {:.1} us",
            b.decide_us_p50, b.decide_us_p99
        );
        if !b.training.is_empty() {
            println!();
            println!(
                "{:<24} {:<10} {:>7} {:>9} {:>8}",
                "training data", "model", "rows", "features", "fit s"
            );
            for t in &b.training {
                println!(
                    "{:<24} {:<10} {:>7} {:>9} {:>8.2}",
                    t.data, t.model, t.rows, t.features, t.fit_seconds
                );
            }
        }
        for s in &b.skipped {
            println!("skipped: {s}");
        }
    }
}
