//! `sextant bench monitoring`: what transaction monitoring costs where the payment app waits.
//!
//! A synthetic population (with its planted fraud) is generated and imported twice into
//! fresh SQLite stores, with monitoring off and on (the typologies, the demo's two
//! compliance rules, one live, one in shadow, a monitoring model trained on the population
//! first, and every named counterparty screened against the population's sanctions list),
//! alternately `--pairs` times: the import throughput of each, and the change. Then the real server answers `POST
//! /v1/payments/assess` on a loopback port while `sextant bench loadgen`, a separate process,
//! offers a constant rate (open loop); every assessment is decided and recorded as in
//! production, on states built from the store first (as the server does when it starts).
//! The aim: p99 under 10 ms at 1,000 requests a second.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{AppState, Application};
use sextant_services::monitoring::model::{self, TrainOptions};
use sextant_services::monitoring::Monitor;
use sextant_services::pipeline::Pipeline;
use sextant_services::Context as ServiceContext;
use sextant_store::{Store, StoredMonitoringModel};
use sextant_vectors::{EdgeStore, VectorStore};

use super::loadgen::{in_separate_process, LoadOptions, LoadReport};
use crate::commands::generate;
use crate::commands::import::{self, FileKind};
use crate::commands::monitoring::truth_payment_labels;
use crate::output::Report;

/// The load generator's warm-up: long enough for every customer's first assessment (a
/// state rebuilt from the store) at the default rate and population.
const WARMUP_SECONDS: u32 = 3;

#[derive(clap::Args)]
pub struct MonitoringBenchOptions {
    #[arg(long, default_value_t = 2_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Import pairs (monitoring off, then on) measured.
    #[arg(long, default_value_t = 2)]
    pub pairs: u32,
    /// Assessments offered per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    #[arg(long, default_value_t = 30)]
    pub seconds: u32,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Serialize)]
pub struct ImportRun {
    pub monitoring: bool,
    pub payments: u64,
    pub payments_seconds: f64,
    pub payments_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct MonitoringBench {
    pub customers: u64,
    pub months: u32,
    /// The monitoring model in force in the monitored imports and the assessments (trained
    /// on this population), and the sanctions list every counterparty was screened against.
    pub model_version: String,
    pub sanctions_list: String,
    /// Each import, in the order run.
    pub imports: Vec<ImportRun>,
    pub payments_per_second_off_mean: f64,
    pub payments_per_second_on_mean: f64,
    /// (on - off) / off, from the means.
    pub import_change: f64,
    /// Alerts filed and cases opened by the last monitored import.
    pub alerts_filed: u64,
    pub cases_opened: u64,
    /// Compliance rules in force during the monitored imports, and their hits recorded by
    /// the last one.
    pub rules: u64,
    pub rule_hits: u64,
    /// Building every customer's state from the store, as the server does when it starts.
    pub warm_customers: usize,
    pub warm_seconds: f64,
    pub load_generator: String,
    pub assess: LoadReport,
    /// Verdicts of the assessments recorded during the run.
    pub verdicts: Vec<(String, u64)>,
    pub aim: String,
}

pub async fn monitoring(options: &MonitoringBenchOptions) -> anyhow::Result<MonitoringBench> {
    let work =
        std::env::temp_dir().join(format!("sextant-bench-monitoring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = run(options, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Monitoring as it runs in production: the demo's rules, a trained model in force and the
/// population's sanctions list.
struct InForce<'a> {
    model: &'a StoredMonitoringModel,
    list: &'a Path,
}

async fn import_once(
    population: &Path,
    db: &Path,
    monitoring: Option<&InForce<'_>>,
) -> anyhow::Result<(ImportRun, Arc<dyn Store>, Monitor)> {
    let store: Arc<dyn Store> = crate::bench::scratch_store(None, db).await?;
    let monitor = Monitor::default();
    if let Some(in_force) = monitoring {
        let by = sextant_store::Actor::system("bench");
        for rule in crate::commands::demo::monitoring::demo_rules() {
            store.add_rule_version(&rule, &by).await?;
        }
        store
            .put_monitoring_model(in_force.model, true, &by)
            .await?;
        monitor
            .screening()
            .load_file(in_force.list)
            .map_err(anyhow::Error::msg)?;
    }
    let monitoring = monitoring.is_some();
    let report = import::import_followed(
        store.clone(),
        import::Followers {
            monitor: monitoring.then_some(&monitor),
            loyalty: None,
        },
        population,
        |_, _, _| {},
    )
    .await?;
    anyhow::ensure!(
        report.error_count == 0,
        "the population did not import cleanly"
    );
    let payments = report
        .files
        .iter()
        .find(|f| f.kind == Some(FileKind::Payments))
        .ok_or_else(|| anyhow::anyhow!("no payments file"))?;
    let seconds = payments.elapsed.as_secs_f64();
    Ok((
        ImportRun {
            monitoring,
            payments: payments.records,
            payments_seconds: seconds,
            payments_per_second: payments.records as f64 / seconds.max(1e-9),
        },
        store,
        monitor,
    ))
}

async fn run(options: &MonitoringBenchOptions, work: &Path) -> anyhow::Result<MonitoringBench> {
    anyhow::ensure!(options.pairs >= 1, "--pairs must be at least 1");
    let population = work.join("population");
    // Ending yesterday: the assessed payments are made now, after each customer's history.
    let config = sextant_synth::Config {
        customers: options.customers,
        months: options.months,
        seed: options.seed,
        end_date: Utc::now().date_naive() - chrono::Duration::days(1),
    };
    eprintln!(
        "generating {} customers x {} months",
        options.customers, options.months
    );
    generate::generate(&config, &population, |_| {})?;

    // The model the monitored imports run with: trained, as the demo trains it, on this
    // population stored once without monitoring.
    eprintln!("training the monitoring model on the population's planted fraud");
    let model = {
        let db = work.join("db-training");
        let (_, store, _) = import_once(&population, &db, None).await?;
        let labels = truth_payment_labels(&population.join(generate::TRUTH_FILE))?;
        let options = TrainOptions {
            seed: options.seed,
            activate: false,
            ..TrainOptions::default()
        };
        let by = sextant_store::Actor::system("bench");
        let trained = model::train(store.as_ref(), &labels, &options, &by, |_, _| {}).await?;
        let stored = store
            .monitoring_model(&trained.version)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the trained model was not stored"))?;
        drop(store);
        let _ = std::fs::remove_dir_all(&db);
        stored
    };
    let list = population.join(generate::SANCTIONS_FILE);
    let in_force = InForce {
        model: &model,
        list: &list,
    };

    let mut imports = Vec::new();
    let mut last = None;
    for pair in 0..options.pairs {
        for monitoring in [false, true] {
            let db = work.join(format!("db-{pair}-{monitoring}"));
            let (run, store, monitor) =
                import_once(&population, &db, monitoring.then_some(&in_force)).await?;
            eprintln!(
                "import {} of {}, monitoring {}: {:.0} payments/s",
                pair + 1,
                options.pairs,
                if monitoring { "on" } else { "off" },
                run.payments_per_second
            );
            imports.push(run);
            if monitoring {
                last = Some((store, monitor));
            } else {
                drop(store);
                let _ = std::fs::remove_dir_all(&db);
            }
        }
    }
    let mean = |on: bool| {
        let rates: Vec<f64> = imports
            .iter()
            .filter(|r| r.monitoring == on)
            .map(|r| r.payments_per_second)
            .collect();
        rates.iter().sum::<f64>() / rates.len().max(1) as f64
    };
    let (off, on) = (mean(false), mean(true));
    let (store, _) = last.expect("at least one monitored import");
    let (alerts_filed, cases_opened) = count_alerts(store.as_ref()).await?;
    let rules = store.rules().await?.len() as u64;
    let rule_hits = store.rule_hit_counts().await?.iter().map(|c| c.hits).sum();

    store.checkpoint().await?;
    let vectors: Arc<dyn VectorStore> = Arc::new(EdgeStore::open(&work.join("vectors"), 32)?);
    let pipeline = Pipeline::open(store.clone(), vectors, &work.join("models")).await?;
    let ctx = ServiceContext::new(Arc::new(pipeline));
    ctx.screening()
        .load_file(&list)
        .map_err(anyhow::Error::msg)?;
    let started = std::time::Instant::now();
    let warmed = ctx.monitor().warm(store.as_ref(), |_| {}).await?;
    let warm_seconds = started.elapsed().as_secs_f64();
    eprintln!("monitoring states of {warmed} customers built in {warm_seconds:.1} s");
    let bodies = work.join("assess.jsonl");
    std::fs::write(&bodies, assess_bodies(options.customers)?)?;
    let state = AppState::with_limits(ctx, Authenticator::development(), Limits::unthrottled());
    let app = Application::build("127.0.0.1:0".parse()?, state).await?;
    let url = format!("http://{}/v1/payments/assess", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    eprintln!(
        "offering {} assessments/s for {} s from a separate load-generator process",
        options.rate, options.seconds
    );
    let assess = in_separate_process(&LoadOptions {
        url,
        token: mint_dev_token(Role::Service, "bench", 3600),
        bodies,
        get: false,
        rate: options.rate,
        seconds: options.seconds,
        warmup_seconds: WARMUP_SECONDS,
        connections: options.connections,
        idempotency_keys: false,
    })
    .await;
    server.abort();
    let assess = assess?;
    let verdicts = verdict_counts(store.as_ref()).await?;
    Ok(MonitoringBench {
        customers: options.customers,
        months: options.months,
        model_version: model.version.clone(),
        sanctions_list: list.display().to_string(),
        imports,
        payments_per_second_off_mean: off,
        payments_per_second_on_mean: on,
        import_change: (on - off) / off.max(1e-9),
        alerts_filed,
        cases_opened,
        rules,
        rule_hits,
        warm_customers: warmed,
        warm_seconds,
        load_generator: "sextant bench loadgen: separate process, open loop, latency from each request's due time".into(),
        assess,
        verdicts,
        aim: "POST /v1/payments/assess p99 < 10 ms at 1,000 requests/s; import no more than 20% slower with monitoring".into(),
    })
}

/// Every case, counted with its alerts.
async fn count_alerts(store: &dyn Store) -> anyhow::Result<(u64, u64)> {
    let (mut alerts, mut offset) = (0, 0);
    let filter = sextant_store::CaseFilter::default();
    loop {
        let (page, total) = store
            .cases(&filter, offset, sextant_store::PAGE_MAX)
            .await?;
        alerts += page.iter().map(|c| c.alerts).sum::<u64>();
        offset += page.len() as u64;
        if page.is_empty() || offset >= total {
            return Ok((alerts, total));
        }
    }
}

/// The verdicts of the assessments recorded, from the audit trail's entries.
async fn verdict_counts(store: &dyn Store) -> anyhow::Result<Vec<(String, u64)>> {
    let mut counts = std::collections::BTreeMap::new();
    let filter = sextant_store::AuditFilter {
        action: Some("monitoring.assess".into()),
        ..sextant_store::AuditFilter::default()
    };
    let mut after = 0;
    loop {
        let page = store
            .audit_entries(&filter, after, sextant_store::PAGE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let detail: serde_json::Value =
                serde_json::from_str(&e.entry.detail).unwrap_or_default();
            let verdict = detail["verdict"].as_str().unwrap_or("?").to_owned();
            *counts.entry(verdict).or_insert(0) += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// One card purchase per customer, made now, amounts from 5 to 800 euros, every twentieth a
/// tiny online payment abroad (what card testing looks like, one at a time), and every tenth
/// a transfer from the app to a named person (screened; every hundredth a listed one).
fn assess_bodies(customers: u64) -> anyhow::Result<String> {
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut lines = String::new();
    for i in 0..customers {
        let tiny = i % 20 == 0;
        if i % 10 == 5 {
            let payee = if i % 100 == 5 {
                "Gennady Ostrilov".to_owned()
            } else {
                format!("Jana Novakova {}", i % 37)
            };
            let body = serde_json::json!({
                "type": "payment",
                "event_id": format!("bench-assess-{i}"),
                "customer_id": format!("c{:07}", i + 1),
                "occurred_at": now,
                "amount_minor": 2_000 + (i as i64 * 7_919) % 48_000,
                "currency": "EUR",
                "direction": "debit",
                "kind": "transfer_out",
                "channel": "p2p",
                "country": "CZ",
                "device_id": format!("dv-bench-{i}"),
                "counterparty": {"name": payee, "account": format!("CZ65080000001920{i:08}")},
            });
            lines.push_str(&serde_json::to_string(&body)?);
            lines.push('\n');
            continue;
        }
        let body = serde_json::json!({
            "type": "payment",
            "event_id": format!("bench-assess-{i}"),
            "customer_id": format!("c{:07}", i + 1),
            "occurred_at": now,
            "amount_minor": if tiny { 100 } else { 500 + (i as i64 * 7_919) % 79_500 },
            "currency": "EUR",
            "direction": "debit",
            "kind": "purchase",
            "channel": if tiny { "online" } else { "in_store" },
            "merchant_id": format!("m-bench-{}", i % 50),
            "mcc": "5411",
            "country": if tiny { "US" } else { "CZ" },
            "card": {"bin": "416598", "last4": "0001"},
        });
        lines.push_str(&serde_json::to_string(&body)?);
        lines.push('\n');
    }
    Ok(lines)
}

impl Report for MonitoringBench {
    fn print_table(&self) {
        let b = self;
        println!(
            "Transaction monitoring: {} customers x {} months (synthetic, with planted fraud), SQLite, this machine",
            b.customers, b.months
        );
        println!(
            "monitoring on: the demo's two rules, model {} in force, counterparties screened against {}",
            b.model_version, b.sanctions_list
        );
        println!();
        println!(
            "{:<8} {:<11} {:>10} {:>9} {:>12}",
            "import", "monitoring", "payments", "seconds", "payments/s"
        );
        for (i, r) in b.imports.iter().enumerate() {
            println!(
                "{:<8} {:<11} {:>10} {:>9.2} {:>12.0}",
                i / 2 + 1,
                if r.monitoring { "on" } else { "off" },
                r.payments,
                r.payments_seconds,
                r.payments_per_second
            );
        }
        println!(
            "mean: off {:.0} payments/s, on {:.0} payments/s, change {:+.1}%; the monitored import filed {} alerts into {} cases and recorded {} hits of {} compliance rules",
            b.payments_per_second_off_mean,
            b.payments_per_second_on_mean,
            b.import_change * 100.0,
            b.alerts_filed,
            b.cases_opened,
            b.rule_hits,
            b.rules
        );
        println!(
            "the server built the monitoring states of {} customers from the store in {:.1} s before the load",
            b.warm_customers, b.warm_seconds
        );
        println!();
        let q = &b.assess;
        println!(
            "POST /v1/payments/assess; load generator: {}",
            b.load_generator
        );
        let statuses = q.print_latency_table();
        let verdicts: Vec<String> = b.verdicts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        println!(
            "responses: {}; verdicts recorded: {}",
            statuses.join(", "),
            verdicts.join(", ")
        );
        println!("aim: {}", b.aim);
    }
}
