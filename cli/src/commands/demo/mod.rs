//! `sextant demo`: the main job on the embedded defaults. Generates a population (unless
//! the same one is there) and starts serving at once; then, in the background with its
//! progress in the log and at `GET /v1/status`, imports it (unless already imported into
//! this database), trains the embedding, credit, offer and monitoring models when none is
//! active, and walks through advice, credit and marketing as their users would. Routes that
//! need a model not trained yet answer 503 with `Retry-After` meanwhile. It prints when the
//! first offers were answered and when every model was ready. With `--no-serve` it prepares
//! everything first, prints the URLs and tokens, and exits.

mod credit;
mod loyalty;
mod marketing;
pub mod monitoring;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sextant_api::auth::{mint_dev_token, Role};
use sextant_api::config::Config;
use sextant_api::startup::open_context;
use sextant_models::credit::CreditModelKind;
use sextant_models::embedding::EmbeddingConfig;
use sextant_services::advice::advise_everyone;
use sextant_services::lending::operations::train_population;
use sextant_services::marketing::training::train_offers;
use sextant_services::monitoring::model::TrainOptions;
use sextant_services::readiness::Step;
use sextant_services::{staff, Context};
use sextant_store::Actor;

use crate::commands::generate::{
    generate_with_progress, PopulationArgs, Truth, MANIFEST_FILE, SANCTIONS_FILE, TRUTH_FILE,
};
use crate::commands::import::{import_with_progress, Followers};
use crate::commands::monitoring::{self as monitoring_cmd, truth_payment_labels};
use crate::commands::profile::{print_training, train_with_progress};
use crate::commands::serve::build;
use crate::output::Report;

/// The wealth manager whose book the demo fills, and how many clients it gets.
const WEALTH_MANAGER: &str = "wm-01";
const CLIENTS: usize = 25;
/// The instalment every customer asks for in the credit check, in minor units.
const QUOTE_AMOUNT_MINOR: i64 = 60_000;
/// The line printed once everything is prepared, above the URLs, tokens and logins
/// (`.ci/console.sh` waits for it).
const READY: &str = "Sextant demo is ready";
/// How often the demo prints the background work's progress while it serves.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// Marks a population folder as imported, holding the database it went into.
const IMPORTED_MARKER: &str = ".imported";

#[derive(clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    population: PopulationArgs,
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Prepare everything, print the URLs and tokens, and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
    /// Training epochs of the embedding model (default: the model's own).
    #[arg(long)]
    epochs: Option<usize>,
}

pub async fn run(args: DemoArgs, mut config: Config) -> anyhow::Result<i32> {
    let started = Instant::now();
    config.addr = args.addr.unwrap_or(config.addr);
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let mut model = EmbeddingConfig::default();
    model.epochs = args.epochs.unwrap_or(model.epochs);
    let population = &args.population;
    let dir = config.data_dir.join("population");
    ensure_generated(population, &dir)?;
    let ctx = open_context(&config).await?;
    let list = dir.join(SANCTIONS_FILE);
    if config.sanctions_list_file.is_none() && list.exists() {
        // The population's own invented list, unless the bank configured one.
        let loaded = ctx
            .screening()
            .load_file(&list)
            .map_err(anyhow::Error::msg)?;
        println!(
            "screening counterparties against {} ({} invented parties)",
            loaded.source,
            loaded.watchlist.entries().len()
        );
    }
    monitoring::ensure_rules(&ctx).await?;
    let prepare = Preparation {
        config: &config,
        dir: &dir,
        model: &model,
        seed: population.seed,
        customers: population.customers,
        started,
    };
    if args.no_serve {
        prepare.run(&ctx).await?;
        let app = build(&config, ctx, true).await?;
        let logins = staff_logins(&app.state().ctx).await?;
        print_ready(app.local_addr(), &logins, READY);
        return Ok(0);
    }
    // Serve at once; the heavy work goes on in the background, its progress in the log and
    // at GET /v1/status, and routes whose model is not trained yet answer 503.
    let app = build(&config, ctx.clone(), true).await?;
    let logins = staff_logins(&ctx).await?;
    let addr = app.local_addr();
    print_ready(
        addr,
        &logins,
        "Sextant demo is serving (what needs a model answers 503 until it is trained)",
    );
    let base = format!("{}://{addr}", app.scheme());
    println!(
        "serving {:.1} s after start; profiling and training go on in the background (GET {base}/v1/status)",
        started.elapsed().as_secs_f64()
    );
    let server = tokio::spawn(app.run_until_stopped());
    let first_offers = tokio::spawn(first_offers_answer(base, started));
    let reporter = tokio::spawn(report_progress(ctx.clone(), started));
    let prepared = prepare.run(&ctx).await;
    reporter.abort();
    if let Err(e) = prepared {
        server.abort();
        first_offers.abort();
        return Err(e);
    }
    if !first_offers.is_finished() {
        println!("no offers yet: the offer model was not trained (see above)");
        first_offers.abort();
    }
    // Everything is prepared: the same URLs, tokens and logins again under the line that
    // scripts wait for, then serve until stopped (Ctrl-C).
    print_ready(addr, &logins, READY);
    server.await??;
    Ok(0)
}

/// What the demo prepares, in order: the import, the models, the walk-through.
struct Preparation<'a> {
    config: &'a Config,
    dir: &'a Path,
    model: &'a EmbeddingConfig,
    seed: u64,
    customers: u64,
    started: Instant,
}

impl Preparation<'_> {
    async fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        ensure_imported(self.config, ctx, self.dir, self.seed).await?;
        ctx.read_model().rebuild_soon();
        ensure_models(ctx, self.model, self.dir, self.seed, self.customers).await?;
        ctx.read_model().rebuild_soon();
        println!(
            "every model ready {:.1} s after start",
            self.started.elapsed().as_secs_f64()
        );
        let step = ctx.readiness().start("walk-through", "parts");
        walk(ctx, &self.dir.join(TRUTH_FILE)).await?;
        step.finish();
        println!(
            "walk-through done {:.1} s after start",
            self.started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// Asks the server for a customer's offers until it answers 200 (503 until the offer model
/// is trained), and prints when that was.
async fn first_offers_answer(base: String, started: Instant) {
    let customer = "c0000001";
    let url = format!("{base}/v1/customers/{customer}/offers");
    let auth = format!("Bearer {}", mint_dev_token(Role::Customer, customer, 3600));
    loop {
        let (url, auth) = (url.clone(), auth.clone());
        let status = tokio::task::spawn_blocking(move || {
            match ureq::get(&url).set("Authorization", &auth).call() {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(s, _)) => s,
                Err(_) => 0,
            }
        })
        .await
        .unwrap_or(0);
        if status == 200 {
            println!(
                "first 200 from GET /v1/customers/{customer}/offers {:.1} s after start",
                started.elapsed().as_secs_f64()
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Prints the background work's progress every few seconds.
async fn report_progress(ctx: Context, started: Instant) {
    let mut every = tokio::time::interval(PROGRESS_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        for step in ctx.readiness().steps() {
            if step.state != "running" {
                continue;
            }
            let stage = step.stage.map(|s| format!(" ({s})")).unwrap_or_default();
            let amount = match (step.total, step.percent) {
                (Some(total), Some(percent)) => {
                    format!("{percent:.0}%, {} of {total} {}", step.done, step.unit)
                }
                _ if step.done == 0 => format!("running for {:.0} s", step.seconds),
                _ => format!("{} {}", step.done, step.unit),
            };
            println!(
                "[{:>5.0} s] {}{stage}: {amount}",
                started.elapsed().as_secs_f64(),
                step.name
            );
        }
    }
}

/// Generates the population into `dir` unless the same one (size, months, seed) is there.
fn ensure_generated(population: &PopulationArgs, dir: &Path) -> anyhow::Result<()> {
    let wanted = format!(
        "\"seed\": {},\n  \"months\": {}",
        population.seed, population.months
    );
    let have = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap_or_default();
    let same = have.contains(&wanted)
        && have.contains(&format!("\"customers\": {},", population.customers));
    if same {
        println!("reusing the population in {}", dir.display());
        return Ok(());
    }
    println!(
        "generating {} customers x {} months into {}",
        population.customers,
        population.months,
        dir.display()
    );
    let _ = std::fs::remove_file(dir.join(IMPORTED_MARKER));
    // Up to yesterday, so the 30- and 90-day windows of the profiles are full.
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let report = generate_with_progress(population, Some(yesterday), dir)?;
    println!(
        "  {} payments, {} behaviour events, {} holdings in {:.1}s",
        report.payments,
        report.behaviour,
        report.holdings,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// Imports the population unless it already went into this database.
async fn ensure_imported(
    config: &Config,
    ctx: &Context,
    dir: &Path,
    seed: u64,
) -> anyhow::Result<()> {
    let marker = dir.join(IMPORTED_MARKER);
    let target = format!(
        "{}:{}",
        ctx.store.backend_name(),
        config
            .database_url
            .as_ref()
            .map_or("default", |_| "configured")
    );
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(target.as_str()) {
        println!("the population is already imported");
        return Ok(());
    }
    println!("importing {}", dir.display());
    let monitor = ctx.monitor();
    let rules = sextant_services::loyalty::rules();
    let followers = Followers {
        monitor: Some(&monitor),
        loyalty: Some(&rules),
    };
    let step = ctx.readiness().start("import", "bytes");
    let report = import_with_progress(ctx.store.clone(), followers, dir, Some(&step)).await?;
    step.finish();
    anyhow::ensure!(
        report.error_count == 0,
        "the generated population did not import cleanly"
    );
    println!("loyalty points: the import's purchases earned them; the population spends some");
    let now = chrono::Utc::now();
    let redeemed = loyalty::redeem(ctx, seed, now).await?;
    loyalty::show(ctx, &redeemed, now).await?;
    std::fs::write(&marker, &target)?;
    Ok(())
}

/// Trains the embedding, offer, credit and monitoring models where none is in place, in the
/// order that answers offers soonest (until the credit model is there, offers hold no
/// credit product: none is offered without a credit decision). A tiny population
/// may hold too few defaults for a credit model: the demo then serves the rest, and credit
/// routes answer 503 credit_model_unavailable.
async fn ensure_models(
    ctx: &Context,
    model: &EmbeddingConfig,
    dir: &Path,
    seed: u64,
    customers: u64,
) -> anyhow::Result<()> {
    if ctx.pipeline.model().is_none() {
        println!("profiling every customer and training the embedding model");
        let step = ctx.readiness().start("embedding model", "customers");
        let outcome = train_with_progress(&ctx.pipeline, model, Some((&step, customers))).await?;
        step.finish();
        print_training(&outcome);
    } else {
        println!(
            "profiles and the embedding model are in place (`sextant profile` refreshes them)"
        );
    }
    if ctx.store.active_offer_model().await?.is_none() {
        println!("training the offer model on what customers hold, their neighbours and their offer behaviour");
        let step = ctx.readiness().start("offer model", "customers");
        let trained = train_offers(
            ctx.store.as_ref(),
            ctx.vectors.as_ref(),
            seed,
            &Actor::system("demo"),
        )
        .await;
        if let Some(trained) = settled(step, "offer model", trained) {
            trained.print_table();
        }
    } else {
        println!("an offer model is active (`sextant marketing train-offers` retrains it)");
    }
    if ctx.store.active_credit_model().await?.is_none() {
        println!(
            "training the credit model on the profiles and the population's repayment outcomes"
        );
        let truth = dir.join(TRUTH_FILE);
        let outcomes = Truth::read(&truth)?;
        let step = ctx.readiness().start("credit model", "customers");
        let trained = train_population(
            ctx.store.as_ref(),
            outcomes.labels(),
            CreditModelKind::Gbm,
            seed,
            &Actor::system("demo"),
        )
        .await;
        if let Some(trained) = settled(step, "credit model", trained) {
            trained.print_table();
        }
    } else {
        println!("a credit model is active (`sextant credit train-population` retrains it)");
    }
    if ctx.store.active_monitoring_model().await?.is_none() {
        println!("training the monitoring model on the population's planted fraud and laundering");
        let labels = truth_payment_labels(&dir.join(TRUTH_FILE))?;
        let step = ctx.readiness().start("monitoring model", "payments");
        let options = TrainOptions {
            seed,
            ..TrainOptions::default()
        };
        let trained =
            monitoring_cmd::train_with_progress(ctx.store.as_ref(), &labels, &options).await;
        if let Some(trained) = settled(step, "monitoring model", trained) {
            trained.print_table();
            ctx.monitor().reload_model(ctx.store.as_ref()).await?;
        }
    } else {
        println!("a monitoring model is active (`sextant monitoring train` retrains it)");
    }
    Ok(())
}

/// Ends a training step: finished with the model, or failed with the reason printed (the
/// demo serves the rest without that model).
fn settled<T, E: std::fmt::Display>(step: Step, model: &str, trained: Result<T, E>) -> Option<T> {
    match trained {
        Ok(trained) => {
            step.finish();
            Some(trained)
        }
        Err(e) => {
            println!("  no {model}: {e}");
            step.fail(e);
            None
        }
    }
}

/// Advice for everyone, the credit check and the marketing walk, each checked for the
/// breaches that must never happen.
async fn walk(ctx: &Context, truth: &Path) -> anyhow::Result<()> {
    println!("advising every profiled customer");
    let report = advise_everyone(ctx, WEALTH_MANAGER, CLIENTS, &Actor::system("demo")).await?;
    println!(
        "  {} customers advised (C1..C5: {:?}); proposed positions above the customer's level: {}",
        report.customers, report.per_level, report.proposal_breaches
    );
    println!(
        "  current holdings above the customer's level: {} customers; drifting beyond 5 points from the model: {}",
        report.holdings_breaching, report.holdings_drifting
    );
    println!(
        "  {} clients assigned to wealth manager {WEALTH_MANAGER}",
        report.clients_assigned
    );
    anyhow::ensure!(
        report.proposal_breaches == 0,
        "a proposal broke suitability"
    );
    if ctx.store.active_credit_model().await?.is_some() {
        println!("checking instalment eligibility of every profiled customer");
        let report = credit::check(ctx, QUOTE_AMOUNT_MINOR).await?;
        report.print_table();
        anyhow::ensure!(
            report.declines_without_valid_reasons == 0,
            "a decline came without one to four reasons"
        );
        anyhow::ensure!(
            report.recorded_quote_id.is_none() || report.recorded_quote_replays_identically,
            "a recorded quote did not replay identically"
        );
    }
    println!("transaction monitoring: the import's alerts against the planted fraud, and one payment assessed");
    let report = monitoring::walk(ctx, truth).await?;
    report.print_table();
    anyhow::ensure!(
        report.replay_identical,
        "a recorded payment assessment did not replay identically"
    );
    if ctx.store.active_offer_model().await?.is_some() {
        println!("checking every customer's offers, then a segment and a campaign with a holdout");
        let report = marketing::walk(ctx, truth).await?;
        report.print_table();
        anyhow::ensure!(
            report.suitability_breaches + report.consent_breaches + report.held_offered == 0,
            "an offer broke suitability, consent or offered a held product"
        );
        anyhow::ensure!(
            report.launch_replayed_identically,
            "a repeated launch answered differently"
        );
    }
    Ok(())
}

/// The console's demo accounts, one per staff role, each given a new random password (24 letters and digits) on
/// every run (the demo keeps no password anywhere but the terminal).
async fn staff_logins(ctx: &Context) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    let by = Actor::system("demo");
    let now = chrono::Utc::now();
    let mut logins = Vec::new();
    for (role, username) in [
        ("marketer", "marketing-team"),
        ("wealth_manager", WEALTH_MANAGER),
        ("compliance", "compliance"),
        ("admin", "admin"),
    ] {
        let password = staff::random_password();
        staff::reset_or_add(ctx.store.as_ref(), username, role, &password, &by, now).await?;
        logins.push((role, username, password));
    }
    Ok(logins)
}

fn print_ready(addr: SocketAddr, logins: &[(&str, &str, String)], heading: &str) {
    let base = format!("http://{addr}");
    println!();
    println!("{heading}");
    println!("  console      {base}/console");
    println!("  API docs     {base}/docs");
    println!("  OpenAPI      {base}/openapi.json");
    println!("  health       {base}/healthz");
    println!("  metrics      {base}/metrics");
    println!();
    println!("Tokens (12 h, development secret):");
    for (role, sub) in [
        (Role::Customer, "c0000001"),
        (Role::Service, "payment-app"),
        (Role::Marketer, "marketing-team"),
        (Role::WealthManager, WEALTH_MANAGER),
        (Role::Compliance, "compliance"),
        (Role::Admin, "admin"),
    ] {
        println!(
            "  {:<15} {}",
            role.as_str(),
            mint_dev_token(role, sub, 12 * 3600)
        );
    }
    println!();
    println!("Console logins ({base}/console), new passwords each run:");
    for (role, username, password) in logins {
        println!("  {role:<15} {username:<15} {password}");
    }
    println!();
    println!(
        "Try: curl -H \"Authorization: Bearer <customer token>\" {base}/v1/customers/c0000001"
    );
    println!(
        "     curl -H \"Authorization: Bearer <customer token>\" {base}/v1/customers/c0000001/offers"
    );
    println!(
        "     curl -X POST -H \"Authorization: Bearer <service token>\" -H 'Content-Type: application/json' \\\n       -d '{{\"customer_id\":\"c0000001\",\"merchant_id\":\"m-0001\",\"amount_minor\":60000,\"currency\":\"EUR\"}}' {base}/v1/instalments/quote"
    );
}
