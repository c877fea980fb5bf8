//! `sextant bench loyalty`: redemption latency as the payment app sees it.
//!
//! Synthetic customers are registered in a fresh SQLite store and each is granted points;
//! the real server then answers `POST /v1/loyalty/redemptions` on a loopback port while
//! `sextant bench loadgen`, a separate process, offers a constant rate (open loop), every
//! request under its own Idempotency-Key. Each redemption replays the customer's journal
//! under their lock and commits its posting, lots and audit entry before it answers, as in
//! production.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use rayon::prelude::*;
use serde::Serialize;
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{AppState, Application};
use sextant_domain::Customer;
use sextant_services::pipeline::Pipeline;
use sextant_services::Context as ServiceContext;
use sextant_store::{Actor, Store};
use sextant_vectors::{EdgeStore, VectorStore};

use super::loadgen::{measured_runs, print_runs, worst, LoadOptions, LoadReport, LoadRun};
use crate::output::Report;

/// The load generator's warm-up, as `sextant bench loadgen` has it by default.
const WARMUP_SECONDS: u32 = 2;

#[derive(clap::Args)]
pub struct LoyaltyBenchOptions {
    #[arg(long, default_value_t = 2_000)]
    pub customers: u64,
    /// Points granted to each customer before the load.
    #[arg(long, default_value_t = 100_000)]
    pub points: i64,
    /// Redemptions offered per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    #[arg(long, default_value_t = 30)]
    pub seconds: u32,
    /// Consecutive offered-load runs against the same server; the headline figures are the
    /// worst run's.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct LoyaltyBench {
    pub customers: u64,
    pub points_granted_each: i64,
    pub load_generator: String,
    /// Every run, in order, with the CPU time each side spent per request.
    pub redemption_runs: Vec<LoadRun>,
    /// The worst run (highest p99).
    pub redemption: LoadReport,
    /// Points spent over all runs: granted less outstanding.
    pub points_redeemed: i64,
    pub balance_left: i64,
}

pub async fn loyalty(options: &LoyaltyBenchOptions) -> anyhow::Result<LoyaltyBench> {
    let work = std::env::temp_dir().join(format!("sextant-bench-loyalty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = run(options, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn run(options: &LoyaltyBenchOptions, work: &Path) -> anyhow::Result<LoyaltyBench> {
    let config = sextant_synth::Config::new(options.customers, 1, options.seed);
    eprintln!(
        "registering {} customers and granting {} points each",
        options.customers, options.points
    );
    let customers: Vec<Customer> = (0..options.customers)
        .into_par_iter()
        .map(|i| sextant_synth::generate_customer(&config, i).customer)
        .collect();
    let store: Arc<dyn Store> = crate::bench::scratch_store(None, &work.join("db")).await?;
    let by = Actor::system("bench");
    let now = Utc::now();
    store.put_customers(&customers, &by, now).await?;
    let expires_on = (now + Duration::days(365)).date_naive();
    let points = options.points;
    for c in &customers {
        store
            .post_points(
                &c.id,
                Box::new(move |ledger| {
                    ledger
                        .adjust(
                            "bench-grant",
                            now,
                            points,
                            "benchmark grant",
                            "bench",
                            expires_on,
                        )
                        .map(|applied| vec![applied])
                }),
                &by,
                now,
            )
            .await?
            .map_err(|e| anyhow::anyhow!("grant: {e}"))?;
    }
    store.checkpoint().await?;
    let bodies = work.join("redemptions.jsonl");
    let mut lines = String::new();
    for (i, c) in customers.iter().enumerate() {
        lines.push_str(&serde_json::to_string(&serde_json::json!({
            "customer_id": c.id.as_str(),
            "points": 10 + (i as i64 * 7) % 90,
            "against": "purchase",
            "reference": format!("order-{i}"),
        }))?);
        lines.push('\n');
    }
    std::fs::write(&bodies, lines)?;

    let vectors: Arc<dyn VectorStore> = Arc::new(EdgeStore::open(&work.join("vectors"), 32)?);
    let pipeline = Pipeline::open(store.clone(), vectors, &work.join("models")).await?;
    let ctx = ServiceContext::new(Arc::new(pipeline));
    let state = AppState::with_limits(ctx, Authenticator::development(), Limits::unthrottled());
    let app = Application::build("127.0.0.1:0".parse()?, state).await?;
    let url = format!("http://{}/v1/loyalty/redemptions", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    let load = LoadOptions {
        url,
        token: mint_dev_token(Role::Service, "bench", 3600),
        bodies,
        get: false,
        rate: options.rate,
        seconds: options.seconds,
        warmup_seconds: WARMUP_SECONDS,
        connections: options.connections,
        idempotency_keys: true,
    };
    let redemption_runs = measured_runs("redemptions", options.runs, &load).await;
    server.abort();
    let redemption_runs = redemption_runs?;
    let redemption = worst(&redemption_runs)
        .expect("at least one run")
        .load
        .clone();
    let liability = sextant_services::loyalty::liability(store.as_ref(), Utc::now()).await?;
    let granted = points * customers.len() as i64;
    Ok(LoyaltyBench {
        customers: options.customers,
        points_granted_each: points,
        load_generator: "sextant bench loadgen: separate process, open loop, latency from each request's due time, one Idempotency-Key per request".into(),
        redemption_runs,
        redemption,
        points_redeemed: granted - liability.points,
        balance_left: liability.points,
    })
}

impl Report for LoyaltyBench {
    fn print_table(&self) {
        let b = self;
        println!(
            "Redemptions: POST /v1/loyalty/redemptions, {} customers with {} points each, SQLite, this machine",
            b.customers, b.points_granted_each
        );
        println!("load generator: {}", b.load_generator);
        print_runs(&b.redemption_runs, 201);
        println!("worst run:");
        let statuses = b.redemption.print_latency_table();
        println!(
            "responses: {}; {} points redeemed, {} left",
            statuses.join(", "),
            b.points_redeemed,
            b.balance_left
        );
    }
}
