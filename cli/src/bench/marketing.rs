//! `sextant bench marketing`: the speed figures of the marketing aims, measured on the real
//! server over loopback.
//!
//! 1. `GET /v1/customers/{id}/offers` at a constant offered rate over random customers, from
//!    `sextant bench loadgen` in a separate process (open loop), aim p99 < 10 ms.
//! 2. A lookalike audience of 10,000 from 10 random seeds: `audience::lookalike` in process
//!    (vector store exact search and the exclusions), aim < 200 ms; and
//!    `POST /v1/audiences/preview` with it, which evaluates it over the audience index (every
//!    customer's row in the server's memory; the first preview after start may load it).
//! 3. Launching a campaign to everyone (`POST /v1/campaigns/{id}/launch`), aim < 5 s, with
//!    the launch summary and the split between planning and the write.
//!
//! The population is built in process (see [`population`]); a run works on a copy when it
//! is kept with `--data-dir`, so its campaign never reaches the kept one. The campaign is
//! launched before the offers load, so offer requests read a live campaign's memberships.

mod population;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Value};
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::config::Limits;
use sextant_api::{AppState, Application};
use sextant_domain::CustomerId;
use sextant_services::marketing::audiences::{lookalike, LookalikeSpec};
use sextant_services::marketing::campaigns::launch::{Exclusions, LaunchSummary};
use sextant_services::marketing::offers::offers_for;
use sextant_services::pipeline::Pipeline;
use sextant_services::Context as ServiceContext;
use sextant_store::{SeaStore, Store};
use sextant_vectors::{EdgeStore, VectorStore};

use super::loadgen::{percentile, print_runs, worst, CpuTimes, LoadOptions, LoadRun};
use crate::output::Report;
pub use population::Marker;
use population::{DB_DIR, MASTER_KEY_FILE, MODELS_DIR, VECTORS_DIR, VECTOR_DIM};

/// The aims of the marketing issue.
pub const OFFERS_LATENCY_MS_P99_AIM: f64 = 10.0;
pub const LOOKALIKE_MS_AIM: f64 = 200.0;
pub const LAUNCH_MS_AIM: f64 = 5_000.0;

const LOOKALIKE_SEEDS: usize = 10;
const LOOKALIKE_SIZE: u64 = 10_000;
/// Lookalikes timed in process, each from fresh random seeds.
const LOOKALIKE_REPETITIONS: usize = 7;
/// Previews timed over HTTP (median and maximum: the first may load the audience index).
const PREVIEW_REPETITIONS: usize = 3;
/// Offers computed in process, one at a time, for the per-request cost without queueing.
const OFFERS_IN_PROCESS: usize = 2_000;
const WARMUP_SECONDS: u32 = 2;
/// Everyone is an adult, so the audience is the whole population.
const AUDIENCE_RULE: &str = "age >= 18";
/// An R1 deposit: suitable for every risk level, so suitability does not shrink the launch.
const CAMPAIGN_PRODUCT: &str = "dep-term-12m";
const CAMPAIGN_CHANNEL: &str = "email";
const HOLDOUT_SHARE: f64 = 0.1;

#[derive(clap::Args)]
pub struct MarketingBenchOptions {
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Offer requests offered per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u32,
    #[arg(long, default_value_t = 20)]
    pub seconds: u32,
    /// Consecutive offered-load runs, each over fresh random customers; the headline
    /// figures are the worst run's.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Concurrent keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keeps the built population here and reuses it on later runs (each run works on a
    /// copy); without it, the population is built in a temporary folder and removed.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// How the measured population came about.
#[derive(Debug, Serialize)]
pub struct PopulationReport {
    pub how: String,
    /// The `--data-dir` population reused, when it was not built by this run.
    pub reused_from: Option<String>,
    /// Copying the kept population for this run.
    pub copy_seconds: Option<f64>,
    pub built: Marker,
}

#[derive(Debug, Serialize)]
pub struct MarketingBench {
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    pub population: PopulationReport,

    /// Every offered-load run, in order; the `offers_*` figures below are the worst run's
    /// (highest p99).
    pub offers_runs: Vec<LoadRun>,
    /// Customers in the serving read model when the load started (see
    /// `sextant_services::read_model`).
    pub offers_read_model_customers: usize,
    pub offers_target_rate_rps: u32,
    /// How long the rate was offered (after the warm-up).
    pub offers_offered_seconds: u32,
    pub offers_achieved_rate_rps: f64,
    /// From the end of the warm-up to the last answer: longer than offered when requests
    /// queued.
    pub offers_measured_seconds: f64,
    pub offers_requests: u64,
    /// Responses other than 200 (transport errors count as status 0).
    pub offers_errors: u64,
    pub offers_status_counts: Vec<(u16, u64)>,
    pub offers_latency_ms_p50: f64,
    pub offers_latency_ms_p90: f64,
    pub offers_latency_ms_p99: f64,
    pub offers_latency_ms_p999: f64,
    pub offers_latency_ms_max: f64,
    pub offers_latency_ms_p99_aim: f64,
    pub offers_connections: usize,
    pub offers_load_generator: String,
    /// `offers::offers_for` in process, one request at a time: the cost of one request.
    pub offers_in_process_samples: usize,
    pub offers_in_process_ms_p50: f64,
    pub offers_in_process_ms_p99: f64,
    /// Process CPU time per request in process (Linux only).
    pub offers_in_process_cpu_ms_per_request: Option<f64>,
    /// The server process's CPU time per request under the offered load (Linux only).
    pub offers_server_cpu_ms_per_request: Option<f64>,
    /// The load generator's CPU time per request, on the same cores (Linux only).
    pub offers_loadgen_cpu_ms_per_request: Option<f64>,
    /// Cores of this machine, and its 1-minute load average just before the offered load:
    /// other work on the machine competes with the server and the load generator.
    pub cpus: usize,
    pub load_average_1m_before_offers: Option<f64>,

    pub lookalike_seeds: usize,
    pub lookalike_size: u64,
    /// Fewest customers a timed lookalike returned.
    pub lookalike_members_min: usize,
    pub lookalike_repetitions: usize,
    pub lookalike_ms_median: f64,
    pub lookalike_ms_max: f64,
    pub lookalike_ms_aim: f64,
    /// `POST /v1/audiences/preview` with a lookalike, end to end over HTTP.
    pub lookalike_preview_http_ms_median: f64,
    pub lookalike_preview_http_ms_max: f64,
    pub lookalike_preview_customers_evaluated: u64,

    pub launch_audience_rule: String,
    pub launch_product: String,
    pub launch_channel: String,
    /// `POST /v1/campaigns/{id}/launch`, end to end over HTTP.
    pub launch_ms: f64,
    pub launch_ms_aim: f64,
    /// The summary's `elapsed_ms`: audience, filters, scores and arms, nothing written.
    pub launch_plan_ms: f64,
    /// The rest: the members' write (one transaction), idempotency record, HTTP.
    pub launch_write_and_rest_ms: f64,
    pub launch_audience_size: u64,
    pub launch_treatment: u64,
    pub launch_holdout: u64,
    pub launch_excluded: Exclusions,
    /// The same rule through `POST /v1/audiences/preview`: evaluating the audience alone.
    pub audience_rule_preview_http_ms_median: f64,
}

pub async fn marketing(options: &MarketingBenchOptions) -> anyhow::Result<MarketingBench> {
    anyhow::ensure!(options.rate >= 1, "--rate must be at least 1");
    anyhow::ensure!(options.seconds >= 1, "--seconds must be at least 1");
    anyhow::ensure!(options.runs >= 1, "--runs must be at least 1");
    let scratch =
        std::env::temp_dir().join(format!("sextant-bench-marketing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let result = prepare_and_measure(options, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn prepare_and_measure(
    options: &MarketingBenchOptions,
    scratch: &Path,
) -> anyhow::Result<MarketingBench> {
    let (run_dir, report) = match &options.data_dir {
        None => {
            let root = scratch.join("population");
            let built = population::build(&root, options.customers, options.seed).await?;
            let report = PopulationReport {
                how: describe(&built),
                reused_from: None,
                copy_seconds: None,
                built,
            };
            (root, report)
        }
        Some(dir) => {
            let root = dir.join("population");
            let (built, reused) = match population::read_marker(&root)? {
                Some(m) if population::matches(&m, options.customers, options.seed) => (m, true),
                Some(m) => anyhow::bail!(
                    "{} holds {} customers from seed {} (format {}): use another --data-dir, or remove that folder to rebuild",
                    root.display(),
                    m.customers,
                    m.seed,
                    m.format
                ),
                None => {
                    // No marker: nothing, or a build that did not finish. The folder is ours.
                    if root.exists() {
                        std::fs::remove_dir_all(&root)
                            .with_context(|| format!("cannot clear {}", root.display()))?;
                    }
                    let built = population::build(&root, options.customers, options.seed).await?;
                    (built, false)
                }
            };
            let run_dir = scratch.join("run");
            let started = Instant::now();
            let bytes = population::copy_population(&root, &run_dir)?;
            let copy_seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "copied the population ({:.0} MiB) for this run in {copy_seconds:.1} s",
                bytes as f64 / (1 << 20) as f64
            );
            let report = PopulationReport {
                how: describe(&built),
                reused_from: reused.then(|| root.display().to_string()),
                copy_seconds: Some(copy_seconds),
                built,
            };
            (run_dir, report)
        }
    };
    measure(options, &run_dir, scratch, report).await
}

fn describe(m: &Marker) -> String {
    format!(
        "built in process: {} synthetic customers x {} months (seed {}), each profile computed in memory from its generated history (features, risk assessment, embedding, segment); registrations, holdings, {} profiles, assessments and vectors stored; behaviour events stored for the first {} customers only ({} events), so offer-interaction reads find data for {:.0}% of customers; embedding model trained on {} of them, credit model on the first {} profiles, offer model on {} customers",
        m.customers,
        m.months,
        m.seed,
        m.profiled_customers,
        m.events_stored_for_customers,
        m.behaviour_events_stored,
        100.0 * m.events_stored_for_customers as f64 / m.customers.max(1) as f64,
        m.embedding_training_customers,
        population::CREDIT_TRAINING_MAX.min(m.customers),
        m.offer_training_customers,
    )
}

async fn measure(
    options: &MarketingBenchOptions,
    run_dir: &Path,
    scratch: &Path,
    population: PopulationReport,
) -> anyhow::Result<MarketingBench> {
    let keyring = sextant_api::startup::file_keyring(&run_dir.join(MASTER_KEY_FILE))?;
    let store: Arc<dyn Store> =
        Arc::new(SeaStore::open(None, &run_dir.join(DB_DIR), Arc::new(keyring)).await?);
    let vectors: Arc<dyn VectorStore> = {
        let dir = run_dir.join(VECTORS_DIR);
        Arc::new(tokio::task::spawn_blocking(move || EdgeStore::open(&dir, VECTOR_DIM)).await??)
    };
    let pipeline = Pipeline::open(store, vectors, &run_dir.join(MODELS_DIR)).await?;
    let ctx = ServiceContext::new(Arc::new(pipeline));
    // What the service loads on first use is loaded before anything is timed.
    ctx.offers().await.context("offer engine")?;
    ctx.lender().await.context("credit model")?;

    let app = Application::build(
        "127.0.0.1:0".parse()?,
        AppState::with_limits(
            ctx.clone(),
            Authenticator::development(),
            Limits::unthrottled(),
        ),
    )
    .await?;
    let base = format!("http://{}", app.local_addr());
    let server = tokio::spawn(app.run_until_stopped());
    let result = async {
        let marketer = Client::new(&base, Role::Marketer);
        let launch = launch(&marketer).await?;
        // Measure the steady state: the launch's write-ahead log is folded back first.
        ctx.store.checkpoint().await?;
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let lookalikes = lookalikes(&ctx, &marketer, options.customers, &mut rng).await?;
        let read_model = super::read_model_built(&ctx).await;
        let in_process = offers_in_process(&ctx, options.customers, &mut rng).await?;
        let mut runs = Vec::new();
        for run in 1..=options.runs {
            eprintln!("offered-load run {run} of {}", options.runs);
            runs.push(offers_load(options, &base, scratch, &mut rng).await?);
        }
        Ok::<_, anyhow::Error>((launch, lookalikes, in_process, runs, read_model))
    }
    .await;
    server.abort();
    let (launch, lookalikes, (in_process, in_process_cpu), runs, read_model) = result?;
    let worst_run = worst(&runs).expect("at least one run");
    let (load, cpu) = (worst_run.load.clone(), worst_run.cpu);
    let errors = worst_run.errors(200);
    let offers_runs = runs;
    let summary = launch.summary;
    Ok(MarketingBench {
        customers: options.customers,
        months: population::MONTHS,
        seed: options.seed,
        population,
        offers_runs,
        offers_read_model_customers: read_model,
        offers_target_rate_rps: load.target_rate_rps,
        offers_offered_seconds: options.seconds,
        offers_achieved_rate_rps: load.achieved_rate_rps,
        offers_measured_seconds: load.measured_seconds,
        offers_requests: load.requests,
        offers_errors: errors,
        offers_status_counts: load.status_counts.clone(),
        offers_latency_ms_p50: load.latency_ms_p50,
        offers_latency_ms_p90: load.latency_ms_p90,
        offers_latency_ms_p99: load.latency_ms_p99,
        offers_latency_ms_p999: load.latency_ms_p999,
        offers_latency_ms_max: load.latency_ms_max,
        offers_latency_ms_p99_aim: OFFERS_LATENCY_MS_P99_AIM,
        offers_connections: load.connections,
        offers_load_generator: "sextant bench loadgen: separate process, open loop, latency from each request's due time, random customers".into(),
        offers_in_process_samples: in_process.len(),
        offers_in_process_ms_p50: percentile(&in_process, 0.5),
        offers_in_process_ms_p99: percentile(&in_process, 0.99),
        offers_in_process_cpu_ms_per_request: in_process_cpu,
        offers_server_cpu_ms_per_request: cpu.server_ms_per_request,
        offers_loadgen_cpu_ms_per_request: cpu.loadgen_ms_per_request,
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        load_average_1m_before_offers: cpu.load_average_1m,
        lookalike_seeds: LOOKALIKE_SEEDS,
        lookalike_size: LOOKALIKE_SIZE,
        lookalike_members_min: lookalikes.members_min,
        lookalike_repetitions: lookalikes.ms.len(),
        lookalike_ms_median: percentile(&lookalikes.ms, 0.5),
        lookalike_ms_max: lookalikes.ms.last().copied().unwrap_or(f64::NAN),
        lookalike_ms_aim: LOOKALIKE_MS_AIM,
        lookalike_preview_http_ms_median: percentile(&lookalikes.preview_ms, 0.5),
        lookalike_preview_http_ms_max: lookalikes.preview_ms.last().copied().unwrap_or(f64::NAN),
        lookalike_preview_customers_evaluated: lookalikes.preview_evaluated,
        launch_audience_rule: AUDIENCE_RULE.into(),
        launch_product: CAMPAIGN_PRODUCT.into(),
        launch_channel: CAMPAIGN_CHANNEL.into(),
        launch_ms: launch.ms,
        launch_ms_aim: LAUNCH_MS_AIM,
        launch_plan_ms: summary.elapsed_ms,
        launch_write_and_rest_ms: launch.ms - summary.elapsed_ms,
        launch_audience_size: summary.audience_size,
        launch_treatment: summary.treatment,
        launch_holdout: summary.holdout,
        launch_excluded: summary.excluded,
        audience_rule_preview_http_ms_median: percentile(&launch.rule_preview_ms, 0.5),
    })
}

/// A blocking HTTP client with one role's development token, run off the async runtime.
struct Client {
    base: String,
    auth: String,
}

impl Client {
    fn new(base: &str, role: Role) -> Client {
        Client {
            base: base.to_owned(),
            auth: format!("Bearer {}", mint_dev_token(role, "bench", 3600)),
        }
    }

    /// Status, JSON body and milliseconds from sending to the last byte of the body.
    async fn call(
        &self,
        method: &'static str,
        path: &str,
        headers: &[(&'static str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value, f64)> {
        let url = format!("{}{path}", self.base);
        let auth = self.auth.clone();
        let headers = headers.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut request = ureq::request(method, &url).set("Authorization", &auth);
            for (name, value) in &headers {
                request = request.set(name, value);
            }
            let started = Instant::now();
            let sent = match body {
                Some(body) => request.send_json(body),
                None => request.call(),
            };
            let response = match sent {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(e) => return Err(anyhow::anyhow!("{method} {url}: {e}")),
            };
            let status = response.status();
            let text = response.into_string()?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Ok((status, value, ms))
        })
        .await?
    }

    /// Like `call`, but anything other than `expected` is an error showing the body.
    async fn expect(
        &self,
        expected: u16,
        method: &'static str,
        path: &str,
        headers: &[(&'static str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<(Value, f64)> {
        let (status, value, ms) = self.call(method, path, headers, body).await?;
        anyhow::ensure!(
            status == expected,
            "{method} {path} answered {status}, not {expected}: {value}"
        );
        Ok((value, ms))
    }
}

struct Launch {
    ms: f64,
    summary: LaunchSummary,
    rule_preview_ms: Vec<f64>,
}

/// Previews the audience rule, then creates a campaign to it and times its launch.
async fn launch(marketer: &Client) -> anyhow::Result<Launch> {
    let mut rule_preview_ms = Vec::new();
    for _ in 0..PREVIEW_REPETITIONS {
        let (_, ms) = marketer
            .expect(
                200,
                "POST",
                "/v1/audiences/preview",
                &[],
                Some(json!({ "rule": AUDIENCE_RULE })),
            )
            .await?;
        rule_preview_ms.push(ms);
    }
    rule_preview_ms.sort_by(f64::total_cmp);
    let audience = "bench-adults";
    marketer
        .expect(
            201,
            "PUT",
            &format!("/v1/audiences/{audience}"),
            &[],
            Some(json!({ "version": 1, "name": "Adults (bench)", "rule": AUDIENCE_RULE })),
        )
        .await?;
    let (campaign, _) = marketer
        .expect(
            201,
            "POST",
            "/v1/campaigns",
            &[],
            Some(json!({
                "name": "Term deposit to everyone (bench)",
                "audience_id": audience,
                "product_id": CAMPAIGN_PRODUCT,
                "channel": CAMPAIGN_CHANNEL,
                "starts_at": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                "frequency_cap": { "max_contacts": 3, "window_days": 30 },
                "holdout_share": HOLDOUT_SHARE,
            })),
        )
        .await?;
    let id = campaign["id"].as_str().context("no campaign id")?;
    eprintln!("launching campaign {id} to `{AUDIENCE_RULE}`");
    let key = format!("bench-launch-{}", std::process::id());
    let (summary, ms) = marketer
        .expect(
            201,
            "POST",
            &format!("/v1/campaigns/{id}/launch"),
            &[("Idempotency-Key", key)],
            None,
        )
        .await?;
    Ok(Launch {
        ms,
        summary: serde_json::from_value(summary).context("the launch summary does not parse")?,
        rule_preview_ms,
    })
}

struct Lookalikes {
    /// Sorted.
    ms: Vec<f64>,
    members_min: usize,
    /// Sorted.
    preview_ms: Vec<f64>,
    preview_evaluated: u64,
}

fn random_seeds(customers: u64, rng: &mut ChaCha8Rng) -> Vec<String> {
    sample(
        rng,
        customers as usize,
        LOOKALIKE_SEEDS.min(customers as usize),
    )
    .into_iter()
    .map(|i| customer_id(i as u64))
    .collect()
}

/// Generated customer `index` is called `c` and its 1-based number in seven digits.
fn customer_id(index: u64) -> String {
    format!("c{:07}", index + 1)
}

async fn lookalikes(
    ctx: &ServiceContext,
    marketer: &Client,
    customers: u64,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Lookalikes> {
    let vectors = ctx.vectors.as_ref();
    let mut ms = Vec::new();
    let mut members_min = usize::MAX;
    for _ in 0..LOOKALIKE_REPETITIONS {
        let spec = LookalikeSpec {
            seeds: random_seeds(customers, rng),
            size: Some(LOOKALIKE_SIZE),
            min_similarity: None,
        };
        let started = Instant::now();
        let hits = lookalike(vectors, &spec).await.context("lookalike")?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        members_min = members_min.min(hits.len());
    }
    ms.sort_by(f64::total_cmp);
    let mut preview_ms = Vec::new();
    let mut preview_evaluated = 0;
    for _ in 0..PREVIEW_REPETITIONS {
        let body = json!({ "lookalike": {
            "seeds": random_seeds(customers, rng),
            "size": LOOKALIKE_SIZE,
        }});
        let (preview, ms) = marketer
            .expect(200, "POST", "/v1/audiences/preview", &[], Some(body))
            .await?;
        preview_ms.push(ms);
        preview_evaluated = preview["evaluated"].as_u64().unwrap_or(0);
    }
    preview_ms.sort_by(f64::total_cmp);
    Ok(Lookalikes {
        ms,
        members_min,
        preview_ms,
        preview_evaluated,
    })
}

/// `offers_for` for random customers, one at a time: milliseconds (sorted), and the process
/// CPU time per request.
async fn offers_in_process(
    ctx: &ServiceContext,
    customers: u64,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<(Vec<f64>, Option<f64>)> {
    let cpu_before = CpuTimes::now();
    let mut ms = Vec::with_capacity(OFFERS_IN_PROCESS);
    for _ in 0..OFFERS_IN_PROCESS {
        let id = CustomerId::parse(&customer_id(rng.gen_range(0..customers)))
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let started = Instant::now();
        offers_for(ctx, &id, 5)
            .await
            .with_context(|| format!("offers for {id}"))?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = CpuTimes::per_request(cpu_before, ms.len() as u64).map(|(own, _)| own);
    ms.sort_by(f64::total_cmp);
    Ok((ms, cpu))
}

/// The offered load from a separate `sextant bench loadgen` process.
async fn offers_load(
    options: &MarketingBenchOptions,
    base: &str,
    scratch: &Path,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<LoadRun> {
    let requests = u64::from(options.rate) * u64::from(options.seconds + WARMUP_SECONDS);
    let mut paths = String::new();
    for _ in 0..requests {
        let id = customer_id(rng.gen_range(0..options.customers));
        paths.push_str(&format!("/v1/customers/{id}/offers\n"));
    }
    let file = scratch.join("offer-paths.txt");
    std::fs::write(&file, paths)?;
    eprintln!(
        "offering {} offer requests/s for {} s from a separate load-generator process",
        options.rate, options.seconds
    );
    super::loadgen::measured(&LoadOptions {
        url: base.to_owned(),
        token: mint_dev_token(Role::Service, "bench", 3600),
        bodies: file,
        get: true,
        rate: options.rate,
        seconds: options.seconds,
        warmup_seconds: WARMUP_SECONDS,
        connections: options.connections,
        idempotency_keys: false,
    })
    .await
}

fn verdict(measured: f64, aim: f64) -> &'static str {
    if measured < aim {
        "met"
    } else {
        "MISSED"
    }
}

/// One row of the figures table: what, the measured figure, the aim and the verdict.
fn row(what: &str, measured: String, aim: &str, verdict: &str) {
    println!("{what:<66} {measured:>12} {aim:>11} {verdict:>7}");
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

impl MarketingBench {
    fn print_setup(&self) {
        let b = self;
        let p = &b.population;
        println!("population: {}", p.how);
        let steps: Vec<String> = p
            .built
            .setup_steps
            .iter()
            .map(|s| format!("{} {:.1} s", s.step, s.seconds))
            .collect();
        match &p.reused_from {
            Some(dir) => println!(
                "setup: reused {dir} (built {} in {:.0} s), copied for this run in {:.1} s",
                p.built.built_at,
                p.built.setup_seconds,
                p.copy_seconds.unwrap_or(0.0)
            ),
            None => println!("setup: built in {:.0} s", p.built.setup_seconds),
        }
        println!("  {}", steps.join("; "));
    }

    /// Every offered-load run, a row each.
    fn print_runs(&self) {
        println!(
            "offered-load runs ({} customers in the read model at the start):",
            self.offers_read_model_customers
        );
        print_runs(&self.offers_runs, 200);
    }

    /// Figure (1): the offers under the offered load (the worst run), and alone.
    fn print_offers(&self) {
        let b = self;
        row(
            &format!(
                "(1) GET /v1/customers/{{id}}/offers at {}/s for {} s, worst of {}: p50",
                b.offers_target_rate_rps,
                b.offers_offered_seconds,
                b.offers_runs.len()
            ),
            ms(b.offers_latency_ms_p50),
            "",
            "",
        );
        row("    p90", ms(b.offers_latency_ms_p90), "", "");
        row(
            "    p99",
            ms(b.offers_latency_ms_p99),
            &format!("< {} ms", b.offers_latency_ms_p99_aim),
            verdict(b.offers_latency_ms_p99, b.offers_latency_ms_p99_aim),
        );
        row("    max", ms(b.offers_latency_ms_max), "", "");
        row(
            &format!(
                "    achieved rate (last answer {:.1} s after the warm-up)",
                b.offers_measured_seconds
            ),
            format!("{:.1}/s", b.offers_achieved_rate_rps),
            "",
            "",
        );
        row(
            "    errors (not 200)",
            format!("{} of {}", b.offers_errors, b.offers_requests),
            "",
            "",
        );
        row(
            &format!(
                "    one request in process, alone ({} customers): p50 / p99",
                b.offers_in_process_samples
            ),
            format!(
                "{:.2} / {:.2} ms",
                b.offers_in_process_ms_p50, b.offers_in_process_ms_p99
            ),
            "",
            "",
        );
        let cpu = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2} ms"));
        row(
            "    CPU per request: server / load generator (same cores)",
            format!(
                "{} / {}",
                cpu(b.offers_server_cpu_ms_per_request),
                cpu(b.offers_loadgen_cpu_ms_per_request)
            ),
            "",
            "",
        );
        row(
            "    CPU per request in process, alone",
            cpu(b.offers_in_process_cpu_ms_per_request),
            "",
            "",
        );
    }

    /// Figures (2) and (3): lookalike audiences and the campaign launch.
    fn print_audiences_and_launch(&self) {
        let b = self;
        row(
            &format!(
                "(2) lookalike of {} seeds, {} of {} (median of {})",
                b.lookalike_seeds, b.lookalike_size, b.customers, b.lookalike_repetitions
            ),
            ms(b.lookalike_ms_median),
            &format!("< {} ms", b.lookalike_ms_aim),
            verdict(b.lookalike_ms_median, b.lookalike_ms_aim),
        );
        row("    max", ms(b.lookalike_ms_max), "", "");
        row(
            &format!(
                "    POST /v1/audiences/preview with one (over all {} rows, indexed)",
                b.lookalike_preview_customers_evaluated
            ),
            ms(b.lookalike_preview_http_ms_median),
            "",
            "",
        );
        row(
            &format!(
                "(3) POST /v1/campaigns/{{id}}/launch to `{}`",
                b.launch_audience_rule
            ),
            ms(b.launch_ms),
            &format!("< {} ms", b.launch_ms_aim),
            verdict(b.launch_ms, b.launch_ms_aim),
        );
        row(
            "    planning (audience, filters, scores, arms)",
            ms(b.launch_plan_ms),
            "",
            "",
        );
        row(
            "    write (members, idempotency record) and HTTP",
            ms(b.launch_write_and_rest_ms),
            "",
            "",
        );
        row(
            "    audience evaluation alone (POST /v1/audiences/preview)",
            ms(b.audience_rule_preview_http_ms_median),
            "",
            "",
        );
    }

    /// The launch's counts, the responses and the machine.
    fn print_context(&self) {
        let b = self;
        let x = &b.launch_excluded;
        println!();
        println!(
            "launch of {} by {}: audience {}, treatment {}, holdout {}; excluded: no consent {}, unsuitable {}, held {}, ineligible {}, frequency cap {}, over cap {}",
            b.launch_product,
            b.launch_channel,
            b.launch_audience_size,
            b.launch_treatment,
            b.launch_holdout,
            x.no_consent,
            x.unsuitable,
            x.already_held,
            x.ineligible,
            x.frequency_cap,
            x.over_cap
        );
        let statuses: Vec<String> = b
            .offers_status_counts
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        println!(
            "offer responses: {}; load generator: {}, {} connections",
            statuses.join(", "),
            b.offers_load_generator,
            b.offers_connections
        );
        println!(
            "machine: {} cores; 1-minute load average before the offered load: {}",
            b.cpus,
            b.load_average_1m_before_offers
                .map_or("-".to_owned(), |l| format!("{l:.2}"))
        );
    }
}

impl Report for MarketingBench {
    fn print_table(&self) {
        println!(
            "Marketing speed: {} customers x {} months (synthetic), SQLite + qdrant-edge in process, this machine",
            self.customers, self.months
        );
        self.print_setup();
        println!();
        self.print_runs();
        println!();
        row("figure", "measured".into(), "aim", "");
        self.print_offers();
        self.print_audiences_and_launch();
        self.print_context();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_the_generators() {
        let config = sextant_synth::Config::new(20_000, 1, 7);
        for index in [0, 12_345] {
            let generated = sextant_synth::generate_customer(&config, index);
            assert_eq!(customer_id(index), generated.customer.id.as_str());
        }
    }

    #[test]
    fn verdicts_compare_with_the_aim() {
        assert_eq!(verdict(9.9, 10.0), "met");
        assert_eq!(verdict(10.0, 10.0), "MISSED");
    }
}
