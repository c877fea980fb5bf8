//! The `sextant` command-line binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sextant_api::auth::{mint_dev_token, Authenticator, Role};
use sextant_api::bench::{self, IngestOptions};
use sextant_api::config::Config;
use sextant_api::eval;
use sextant_api::generate::{self, MANIFEST_FILE};
use sextant_api::import::{self, ImportReport};
use sextant_api::marketing_cli::{self, MarketingCommand};
use sextant_api::pipeline::{Pipeline, TrainOutcome};
use sextant_api::portfolio_cli::{self, PortfolioCommand};
use sextant_api::store::Store;
use sextant_api::{open_pipeline, AppState, Application};
use sextant_models::embedding::EmbeddingConfig;

#[derive(Parser)]
#[command(
    name = "sextant",
    version,
    about = "Personalised finance and robo-advice for a payment app"
)]
struct Cli {
    /// Configuration file (default: ./sextant.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long)]
        addr: Option<SocketAddr>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write a deterministic synthetic population (JSON lines) plus its ground truth.
    Generate(GenerateArgs),
    /// Load customers, holdings, payments and behaviour files (JSON lines or CSV).
    Import {
        /// A file, or a folder holding customers*, holdings*, payments*, behaviour* files.
        path: PathBuf,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Mint a bearer token signed with the local development secret.
    Token {
        /// customer, service, marketer, wealth_manager or admin
        #[arg(long)]
        role: String,
        /// The subject: a customer id for the customer role, any name otherwise.
        #[arg(long)]
        sub: String,
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
    },
    /// Generate a population, import it, and serve the API with ready-to-use tokens.
    Demo {
        #[command(flatten)]
        population: PopulationArgs,
        #[arg(long)]
        addr: Option<SocketAddr>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Prepare everything, print the tokens, and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
        /// Training epochs of the embedding model (default: the model's own).
        #[arg(long)]
        epochs: Option<usize>,
    },
    /// Compute every customer's profile, risk level and (with a trained model) embedding.
    Profile {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Train models.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Measure model quality on held-out data (`--json` for one JSON object).
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Benchmarks that print tables (`--json` for one JSON object).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Portfolio construction on a CSV of daily prices (`--json` for one JSON object).
    #[command(subcommand)]
    Portfolio(PortfolioCommand),
    /// Credit models.
    #[command(subcommand)]
    Credit(CreditCommand),
    /// Marketing analytics on delimited files (`--json` for one JSON object).
    #[command(subcommand)]
    Marketing(MarketingCommand),
}

#[derive(Subcommand)]
enum CreditCommand {
    /// Cross-validated AUC, KS, Brier score and calibration of the credit models on any
    /// delimited file (`--json` for one JSON object).
    Eval(sextant_api::credit::EvalArgs),
    /// Cross-validate, fit on all rows and save one model file (encoding, model,
    /// calibration, metadata with the data's SHA-256 and the figures).
    Train(sextant_api::credit::TrainArgs),
    /// Train the decision model on the stored profiles, labelled by the population's
    /// ground truth (observed defaults), store it and make it the active one.
    TrainPopulation {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Default: DATA_DIR/population/ground_truth.jsonl.
        #[arg(long)]
        truth: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "gbm")]
        model: sextant_api::credit::ModelArg,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Cross-validated quality on a synthetic population generated in memory, through the
    /// profiling features, against the generator's true default propensity.
    EvalPopulation {
        #[arg(long, default_value_t = 20_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["scorecard", "gbm"])]
        model: Vec<sextant_api::credit::ModelArg>,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Cross-validated quality on the 354 Berka loans, each applicant's pre-loan
    /// transactions profiled like any customer's.
    EvalBerka {
        #[arg(long, default_value = "../shared/data/berka")]
        berka: PathBuf,
        #[arg(long, value_enum, value_delimiter = ',', default_values = ["scorecard", "gbm"])]
        model: Vec<sextant_api::credit::ModelArg>,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Decide a recorded quote or application again from its stored inputs and model
    /// version and compare with what was answered; exits 1 when anything differs.
    Replay {
        decision_id: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Approval rate, AUC and calibration by age band and sex, with disparate-impact ratios;
    /// protected attributes are never model inputs.
    Fairness(sextant_api::credit_fairness::FairnessArgs),
}

#[derive(Subcommand)]
enum TrainCommand {
    /// Train the customer embedding model on the stored profiles, embed everyone into the
    /// vector store and derive segments.
    Embeddings {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value_t = 32)]
        dim: usize,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Persona recovery (ARI, NMI) of embedding segments vs a raw-feature baseline, risk-level
    /// agreement (quadratic-weighted kappa) on a synthetic population; with --berka, the
    /// 5-fold AUC of a logistic model on profile features of 354 real loans.
    Profiling {
        #[arg(long, default_value_t = 10_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The Berka data folder (e.g. ../shared/data/berka).
        #[arg(long)]
        berka: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Clone)]
struct PopulationArgs {
    #[arg(long, default_value_t = 20_000)]
    customers: u64,
    #[arg(long, default_value_t = 12)]
    months: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(clap::Args)]
struct GenerateArgs {
    #[command(flatten)]
    population: PopulationArgs,
    #[arg(long)]
    out: PathBuf,
    /// Last day of the generated history (YYYY-MM-DD); fixed by default so output is reproducible.
    #[arg(long)]
    end_date: Option<chrono::NaiveDate>,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Feature extraction vs polars, incremental update latency, embedding inference,
    /// similar-customer queries and their recall.
    Profile {
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Skip the polars comparison (it needs Python and PyPI).
        #[arg(long)]
        no_polars: bool,
        #[arg(long)]
        json: bool,
    },
    /// Parity (largest weight and performance differences) and speed of every portfolio
    /// method against PyPortfolioOpt on the same inputs.
    Portfolio {
        /// Folder with stock_prices.csv, spy_prices.csv and cov_matrix.csv.
        #[arg(long, default_value = "../shared/data/portfolio")]
        data: PathBuf,
        /// Skip PyPortfolioOpt (it needs Python and PyPI on first use).
        #[arg(long)]
        no_python: bool,
        #[arg(long, default_value_t = 100)]
        points: usize,
        #[arg(long)]
        json: bool,
    },
    /// Events/s through import (SQLite, PostgreSQL) and POST /v1/events (SQLite).
    Ingest {
        #[arg(long, default_value_t = 5_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// A PostgreSQL URL with rights to create databases.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        #[arg(long)]
        no_postgres: bool,
        #[arg(long, default_value_t = 200_000)]
        http_events: usize,
        #[arg(long)]
        json: bool,
    },
    /// Instalment-quote latency at a constant offered rate (open loop, load generator in a
    /// separate process) and credit model training time on the Taiwan file.
    Credit {
        #[arg(long, default_value_t = 2_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Quotes offered per second.
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u32,
        /// Concurrent keep-alive connections of the load generator.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value = "../shared/data/credit/taiwan_default.csv")]
        taiwan: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Offers latency at a constant offered rate (open loop, load generator in a separate
    /// process), lookalike audience time and campaign launch time, against the aims.
    Marketing {
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        /// Offer requests offered per second.
        #[arg(long, default_value_t = 1_000)]
        rate: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Concurrent keep-alive connections of the load generator.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Keeps the built population here and reuses it on later runs (each run works on a
        /// copy); without it, the population is built in a temporary folder and removed.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The open-loop load generator `bench credit` and `bench marketing` run as a separate
    /// process; prints one JSON report.
    #[command(hide = true)]
    Loadgen {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: String,
        /// One JSON body per line (with `--get`, one path per line, appended to `--url`).
        #[arg(long)]
        bodies: PathBuf,
        /// Send GET requests instead of POSTs.
        #[arg(long)]
        get: bool,
        #[arg(long, default_value_t = 500)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u32,
        #[arg(long, default_value_t = 2)]
        warmup_seconds: u32,
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(run(cli.command, config))?;
    std::process::exit(code);
}

fn init_logging(filter: &str) {
    use std::io::IsTerminal;
    // The database drivers log every statement at info and qdrant-edge warns about its own
    // internal flags on every open; keep them quiet unless asked.
    let directives =
        format!("sqlx=warn,sea_orm=warn,sea_orm_migration=warn,qdrant_edge=error,{filter}");
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<i32> {
    match command {
        Command::Credit(CreditCommand::Eval(args)) => {
            let json = args.json;
            let result =
                tokio::task::spawn_blocking(move || sextant_api::credit::eval(&args)).await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                sextant_api::credit::print_eval(&result);
            }
        }
        Command::Credit(CreditCommand::Train(args)) => {
            let json = args.json;
            let report =
                tokio::task::spawn_blocking(move || sextant_api::credit::train(&args)).await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                sextant_api::credit::print_train(&report);
            }
        }
        Command::Credit(CreditCommand::TrainPopulation {
            data_dir,
            truth,
            model,
            seed,
            json,
        }) => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let truth = truth.unwrap_or_else(|| {
                config
                    .data_dir
                    .join("population")
                    .join(sextant_api::generate::TRUTH_FILE)
            });
            let store = open_store(&config).await?;
            let report = sextant_api::credit_ops::train_population(
                store.as_ref(),
                &truth,
                model.into(),
                seed,
                "cli",
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                sextant_api::credit_ops::print_population_training(&report);
            }
        }
        Command::Credit(CreditCommand::EvalPopulation {
            customers,
            months,
            model,
            folds,
            seed,
            json,
        }) => {
            let options = sextant_api::credit_population::ProfiledEvalOptions {
                models: model.into_iter().map(Into::into).collect(),
                folds,
                seed,
            };
            let result = tokio::task::spawn_blocking(move || {
                sextant_api::credit_population::eval_population(customers, months, &options)
            })
            .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                sextant_api::credit_population::print_profiled_eval(&result);
            }
        }
        Command::Credit(CreditCommand::EvalBerka {
            berka,
            model,
            folds,
            seed,
            json,
        }) => {
            let options = sextant_api::credit_population::ProfiledEvalOptions {
                models: model.into_iter().map(Into::into).collect(),
                folds,
                seed,
            };
            let result = tokio::task::spawn_blocking(move || {
                sextant_api::credit_population::eval_berka(&berka, &options)
            })
            .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                sextant_api::credit_population::print_profiled_eval(&result);
            }
        }
        Command::Credit(CreditCommand::Replay {
            decision_id,
            data_dir,
            json,
        }) => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let store = open_store(&config).await?;
            let result = sextant_api::credit_ops::replay(store.as_ref(), &decision_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                sextant_api::credit_ops::print_replay(&result);
            }
            if !result.identical {
                return Ok(1);
            }
        }
        Command::Credit(CreditCommand::Fairness(args)) => {
            let json = args.json;
            let report =
                tokio::task::spawn_blocking(move || sextant_api::credit_fairness::fairness(&args))
                    .await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                sextant_api::credit_fairness::print_fairness(&report);
            }
        }
        Command::Portfolio(command) => {
            tokio::task::spawn_blocking(move || portfolio_cli::run(&command)).await??;
        }
        Command::Marketing(command) => marketing_cli::run(command, config.clone()).await?,
        Command::Serve { addr, data_dir } => {
            config.addr = addr.unwrap_or(config.addr);
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let pipeline = open_pipeline(&config).await?;
            let app = build(&config, pipeline).await?;
            println!("Sextant listening on http://{}", app.local_addr());
            app.run_until_stopped().await?;
        }
        Command::Generate(args) => {
            let report = run_generate(&args.population, args.end_date, &args.out)?;
            println!(
                "wrote {} customers, {} payments, {} behaviour events, {} holdings to {} in {:.1}s",
                report.customers,
                report.payments,
                report.behaviour,
                report.holdings,
                args.out.display(),
                report.elapsed.as_secs_f64()
            );
        }
        Command::Import { path, data_dir } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let store = open_store(&config).await?;
            let report = run_import(store, &path).await?;
            if report.error_count > 0 {
                return Ok(1);
            }
        }
        Command::Token {
            role,
            sub,
            ttl_hours,
        } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
            println!("{}", mint_dev_token(role, &sub, ttl_hours * 3600));
            eprintln!("(signed with the local development secret: accepted only by servers with no key configured)");
        }
        Command::Demo {
            population,
            addr,
            data_dir,
            no_serve,
            epochs,
        } => {
            config.addr = addr.unwrap_or(config.addr);
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let mut model = EmbeddingConfig::default();
            model.epochs = epochs.unwrap_or(model.epochs);
            return demo(config, &population, &model, no_serve).await;
        }
        Command::Profile { data_dir } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let pipeline = open_pipeline(&config).await?;
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "profile {bar:40} {pos} customers {per_sec} {elapsed}",
                )
                .expect("valid template"),
            );
            let (report, _) = pipeline
                .profile_all(chrono::Utc::now(), |n| bar.set_position(n))
                .await?;
            bar.finish_and_clear();
            println!(
                "profiled {} of {} customers ({} without profiling consent skipped), {} risk assessments recorded, {} embedded, in {:.1}s",
                report.profiled, report.customers, report.skipped_no_consent, report.assessments_recorded, report.embedded, report.seconds
            );
        }
        Command::Train(TrainCommand::Embeddings {
            data_dir,
            dim,
            epochs,
            seed,
        }) => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            config.embedding_dim = dim;
            let pipeline = open_pipeline(&config).await?;
            let mut model_config = EmbeddingConfig {
                dim,
                seed,
                ..EmbeddingConfig::default()
            };
            if let Some(epochs) = epochs {
                model_config.epochs = epochs;
            }
            let outcome = run_train(&pipeline, &model_config).await?;
            print_train(&outcome);
        }
        Command::Eval(EvalCommand::Profiling {
            customers,
            months,
            seed,
            berka,
            json,
        }) => {
            let result = eval::profiling(&eval::ProfilingOptions {
                customers,
                months,
                seed,
                berka,
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                eval::print_profiling(&result);
            }
        }
        Command::Bench(BenchCommand::Profile {
            customers,
            months,
            no_polars,
            json,
        }) => {
            let result = bench::profile(&bench::ProfileOptions {
                customers,
                months,
                polars: !no_polars,
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                bench::print_profile(&result);
            }
        }
        Command::Bench(BenchCommand::Portfolio {
            data,
            no_python,
            points,
            json,
        }) => {
            let options = bench::PortfolioOptions {
                data_dir: data,
                python: !no_python,
                frontier_points: points,
            };
            let result = tokio::task::spawn_blocking(move || bench::portfolio(&options)).await??;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                bench::print_portfolio(&result);
            }
        }
        Command::Bench(BenchCommand::Ingest {
            customers,
            months,
            postgres_url,
            no_postgres,
            http_events,
            json,
        }) => {
            let options = IngestOptions {
                customers,
                months,
                postgres_admin_url: (!no_postgres).then_some(postgres_url),
                http_events,
                http_batch: 500,
                http_clients: 4,
            };
            let result = bench::ingest(&options).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                bench::print_table(&result);
            }
        }
        Command::Bench(BenchCommand::Credit {
            customers,
            months,
            rate,
            seconds,
            connections,
            taiwan,
            seed,
            json,
        }) => {
            let result = bench::credit(&bench::CreditBenchOptions {
                customers,
                months,
                rate,
                seconds,
                connections,
                taiwan,
                seed,
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                bench::print_credit(&result);
            }
        }
        Command::Bench(BenchCommand::Marketing {
            customers,
            rate,
            seconds,
            connections,
            seed,
            data_dir,
            json,
        }) => {
            let result = bench::marketing::marketing(&bench::marketing::MarketingBenchOptions {
                customers,
                rate,
                seconds,
                connections,
                seed,
                data_dir,
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                bench::marketing::print_marketing(&result);
            }
        }
        Command::Bench(BenchCommand::Loadgen {
            url,
            token,
            bodies,
            get,
            rate,
            seconds,
            warmup_seconds,
            connections,
        }) => {
            let options = bench::loadgen::LoadOptions {
                url,
                token,
                bodies,
                get,
                rate,
                seconds,
                warmup_seconds,
                connections,
            };
            let report =
                tokio::task::spawn_blocking(move || bench::loadgen::run(&options)).await??;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(0)
}

async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_pipeline(config).await?.store.clone())
}

async fn build(config: &Config, pipeline: Arc<Pipeline>) -> anyhow::Result<Application> {
    let auth = Authenticator::new(
        config.jwt_hs256_secret.as_ref(),
        config.jwt_rs256_public_key.as_deref(),
    )?;
    if auth.dev_secret {
        for line in [
            "==================================================================",
            "NO TOKEN KEY CONFIGURED: accepting tokens signed with the PUBLIC",
            "local development secret. Anyone can mint any role. Set",
            "SEXTANT_JWT_HS256_SECRET or SEXTANT_JWT_RS256_PUBLIC_KEY in production.",
            "==================================================================",
        ] {
            tracing::warn!("{line}");
        }
    }
    tracing::info!(
        database = pipeline.store.backend_name(),
        vectors = pipeline.vectors.kind(),
        "storage ready"
    );
    Application::build(config.addr, AppState::new(pipeline, auth)).await
}

/// Trains the embedding model, then profiles, embeds and segments everyone, with progress.
async fn run_train(pipeline: &Pipeline, config: &EmbeddingConfig) -> anyhow::Result<TrainOutcome> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:10} {pos} customers {elapsed}").expect("valid template"),
    );
    let now = chrono::Utc::now();
    let outcome = pipeline
        .train(config, now, |stage, n| {
            bar.set_message(stage.to_owned());
            bar.set_position(n);
        })
        .await?;
    bar.finish_and_clear();
    Ok(outcome)
}

fn print_train(outcome: &TrainOutcome) {
    let p = &outcome.profiling;
    println!(
        "profiled {} customers ({} without profiling consent), {} risk assessments recorded",
        p.profiled, p.skipped_no_consent, p.assessments_recorded
    );
    let r = &outcome.report;
    println!(
        "trained {} on {} customers: {} epochs, validation loss {:.4}, {:.1}s",
        outcome.model, r.rows, r.epochs, r.validation_loss, r.seconds
    );
    println!(
        "{} customers embedded; {} segments:",
        outcome.customers,
        outcome.segments.len()
    );
    for s in &outcome.segments {
        println!(
            "  {:>2} {:<28} {:>7} customers  {}",
            s.id, s.name, s.size, s.description
        );
    }
}

fn run_generate(
    population: &PopulationArgs,
    end_date: Option<chrono::NaiveDate>,
    out: &Path,
) -> anyhow::Result<generate::GenerateReport> {
    let config = sextant_synth::Config {
        customers: population.customers,
        months: population.months,
        seed: population.seed,
        end_date: end_date.unwrap_or(sextant_synth::Config::DEFAULT_END_DATE),
    };
    let bar = ProgressBar::new(population.customers);
    bar.set_style(
        ProgressStyle::with_template("generate {bar:40} {pos}/{len} customers {per_sec} eta {eta}")
            .expect("valid template"),
    );
    let report = generate::generate(&config, out, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(report)
}

async fn run_import(store: Arc<dyn Store>, path: &Path) -> anyhow::Result<ImportReport> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "import {msg:10} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    let report = import::import(store, path, |kind, done, total| {
        bar.set_message(kind.name());
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "{:<11} {:>10} {:>10} {:>11} {:>9} {:>8} {:>11}",
        "file", "records", "stored", "duplicates", "rejected", "seconds", "records/s"
    );
    for f in &report.files {
        let secs = f.elapsed.as_secs_f64();
        println!(
            "{:<11} {:>10} {:>10} {:>11} {:>9} {:>8.2} {:>11.0}",
            f.kind.map_or("?", |k| k.name()),
            f.records,
            f.stored,
            f.duplicates,
            f.rejected,
            secs,
            f.records as f64 / secs.max(1e-9)
        );
    }
    for e in report.errors.iter().take(50) {
        eprintln!("{e}");
    }
    if report.error_count > 50 {
        eprintln!("... and {} more rejected lines", report.error_count - 50);
    }
    Ok(report)
}

/// Proposes every profiled customer a portfolio and reviews their holdings; the first 25
/// customers with holdings become clients of the demo wealth manager `wm-01`.
async fn print_advice(app: &Application) -> anyhow::Result<()> {
    println!("advising every profiled customer");
    let report = sextant_api::advice::advise_everyone(app.state(), "wm-01", 25)
        .await
        .map_err(|e| anyhow::anyhow!("advice: {e}"))?;
    println!(
        "  {} customers advised (C1..C5: {:?}); proposed positions above the customer's level: {}",
        report.customers, report.per_level, report.proposal_breaches
    );
    println!(
        "  current holdings above the customer's level: {} customers; drifting beyond 5 points from the model: {}",
        report.holdings_breaching, report.holdings_drifting
    );
    println!(
        "  {} clients assigned to wealth manager wm-01",
        report.clients_assigned
    );
    anyhow::ensure!(
        report.proposal_breaches == 0,
        "a proposal broke suitability"
    );
    Ok(())
}

async fn print_credit(app: &Application) -> anyhow::Result<()> {
    if app.state().store.active_credit_model().await?.is_none() {
        return Ok(());
    }
    println!("checking instalment eligibility of every profiled customer");
    let report = sextant_api::credit_ops::demo_credit(app.state(), 60_000).await?;
    sextant_api::credit_ops::print_demo_credit(&report);
    anyhow::ensure!(
        report.declines_without_valid_reasons == 0,
        "a decline came without one to four reasons"
    );
    anyhow::ensure!(
        report.recorded_quote_id.is_none() || report.recorded_quote_replays_identically,
        "a recorded quote did not replay identically"
    );
    Ok(())
}

async fn print_marketing(app: &Application) -> anyhow::Result<()> {
    if app.state().store.active_offer_model().await?.is_none() {
        return Ok(());
    }
    println!("checking every customer's offers, then a segment and a campaign with a holdout");
    let report = sextant_api::marketing_ops::demo_marketing(app.state()).await?;
    sextant_api::marketing_ops::print_demo_marketing(&report);
    anyhow::ensure!(
        report.suitability_breaches + report.consent_breaches + report.held_offered == 0,
        "an offer broke suitability, consent or offered a held product"
    );
    anyhow::ensure!(
        report.launch_replayed_identically,
        "a repeated launch answered differently"
    );
    Ok(())
}

/// Generates (unless the same population is already there), imports (unless already done
/// into this database), prints URLs and tokens, and serves.
async fn demo(
    config: Config,
    population: &PopulationArgs,
    model: &EmbeddingConfig,
    no_serve: bool,
) -> anyhow::Result<i32> {
    let dir = config.data_dir.join("population");
    let wanted = format!(
        "\"seed\": {},\n  \"months\": {}",
        population.seed, population.months
    );
    let have = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap_or_default();
    let same = have.contains(&wanted)
        && have.contains(&format!("\"customers\": {},", population.customers));
    if same {
        println!("reusing the population in {}", dir.display());
    } else {
        println!(
            "generating {} customers x {} months into {}",
            population.customers,
            population.months,
            dir.display()
        );
        let _ = std::fs::remove_file(dir.join(".imported"));
        // Up to yesterday, so the 30- and 90-day windows of the profiles are full.
        let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let report = run_generate(population, Some(yesterday), &dir)?;
        println!(
            "  {} payments, {} behaviour events, {} holdings in {:.1}s",
            report.payments,
            report.behaviour,
            report.holdings,
            report.elapsed.as_secs_f64()
        );
    }
    let pipeline = open_pipeline(&config).await?;
    let store = pipeline.store.clone();
    let marker = dir.join(".imported");
    let target = format!(
        "{}:{}",
        store.backend_name(),
        config
            .database_url
            .as_ref()
            .map_or("default", |_| "configured")
    );
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(target.as_str()) {
        println!("the population is already imported");
    } else {
        println!("importing {}", dir.display());
        let report = run_import(store.clone(), &dir).await?;
        anyhow::ensure!(
            report.error_count == 0,
            "the generated population did not import cleanly"
        );
        std::fs::write(&marker, &target)?;
    }
    if pipeline.model().is_none() {
        println!("profiling every customer and training the embedding model");
        let outcome = run_train(&pipeline, model).await?;
        print_train(&outcome);
    } else {
        println!(
            "profiles and the embedding model are in place (`sextant profile` refreshes them)"
        );
    }
    if store.active_credit_model().await?.is_none() {
        println!(
            "training the credit model on the profiles and the population's repayment outcomes"
        );
        match sextant_api::credit_ops::train_population(
            store.as_ref(),
            &dir.join(sextant_api::generate::TRUTH_FILE),
            sextant_models::credit::CreditModelKind::Gbm,
            population.seed,
            "demo",
        )
        .await
        {
            Ok(trained) => sextant_api::credit_ops::print_population_training(&trained),
            // A tiny population may hold too few defaults; the demo still serves the rest
            // and credit routes answer 503 credit_model_unavailable.
            Err(e) => println!("  no credit model: {e:#}"),
        }
    } else {
        println!("a credit model is active (`sextant credit train --population` retrains it)");
    }
    if store.active_offer_model().await?.is_none() {
        println!("training the offer model on what customers hold, their neighbours and their offer behaviour");
        match sextant_api::marketing_ops::train_offers(
            store.as_ref(),
            pipeline.vectors.as_ref(),
            population.seed,
            "demo",
        )
        .await
        {
            Ok(trained) => sextant_api::marketing_ops::print_offer_training(&trained),
            Err(e) => println!("  no offer model: {e:#}"),
        }
    } else {
        println!("an offer model is active (`sextant marketing train-offers` retrains it)");
    }
    let app = build(&config, pipeline).await?;
    print_advice(&app).await?;
    print_credit(&app).await?;
    print_marketing(&app).await?;
    let base = format!("http://{}", app.local_addr());
    println!();
    println!("Sextant demo is ready");
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
        (Role::WealthManager, "wm-01"),
        (Role::Admin, "admin"),
    ] {
        println!(
            "  {:<15} {}",
            role.as_str(),
            mint_dev_token(role, sub, 12 * 3600)
        );
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
    if no_serve {
        return Ok(0);
    }
    app.run_until_stopped().await?;
    Ok(0)
}
