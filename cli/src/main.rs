//! The `sextant` command line: parses the command and hands it to its module in `commands/`.

mod bench;
mod commands;
mod evals;
mod output;
mod progress;
mod python;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use commands::{
    audit, bench as bench_command, credit, demo, eval, fx, generate, import, keys, loyalty,
    marketing, monitoring, portfolio, profile, serve, staff, token,
};
use sextant_api::config::Config;

/// mimalloc instead of the system allocator: the import, profiling and serving allocate per
/// record and per request from many threads, where glibc's malloc spent a quarter of the
/// import's time (see README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Serve(serve::ServeArgs),
    /// Write a deterministic synthetic population (JSON lines) plus its ground truth.
    Generate(generate::GenerateArgs),
    /// Load customers, holdings, payments and behaviour files (JSON lines or CSV).
    Import(import::ImportArgs),
    /// Load reference exchange rates in the ECB's CSV layout (eurofxref-hist.csv).
    #[command(name = "import-fx")]
    ImportFx(fx::ImportFxArgs),
    /// Mint a bearer token signed with the local development secret.
    Token(token::TokenArgs),
    /// Generate a population, import it, and serve the API with ready-to-use tokens.
    Demo(demo::DemoArgs),
    /// Compute every customer's profile, risk level and (with a trained model) embedding.
    Profile(profile::ProfileArgs),
    /// Train models.
    #[command(subcommand)]
    Train(profile::TrainCommand),
    /// Measure model quality on held-out data (`--json` for one JSON object).
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Benchmarks that print tables (`--json` for one JSON object).
    #[command(subcommand)]
    Bench(bench_command::BenchCommand),
    /// Portfolio construction on a CSV of daily prices (`--json` for one JSON object).
    #[command(subcommand)]
    Portfolio(portfolio::PortfolioCommand),
    /// Credit models.
    #[command(subcommand)]
    Credit(credit::CreditCommand),
    /// Marketing analytics on delimited files (`--json` for one JSON object).
    #[command(subcommand)]
    Marketing(marketing::MarketingCommand),
    /// Transaction monitoring: `scan` replays the stored payments through the typology
    /// detectors (`--json` for one JSON object).
    #[command(subcommand)]
    Monitoring(monitoring::MonitoringCommand),
    /// The audit trail: `verify` checks its hash chain.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Loyalty points: `expire` (the expiry job), `liability` (points outstanding).
    #[command(subcommand)]
    Loyalty(loyalty::LoyaltyCommand),
    /// The master key that wraps customers' data keys: `generate`, `rotate`.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Staff accounts of the console: `add`, `passwd`, `disable`, `enable`, `list`.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.log);
    sextant_api::startup::restrict_new_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(run(cli.command, config))?;
    std::process::exit(code);
}

/// Runs the command; the result is the process's exit status.
async fn run(command: Command, config: Config) -> anyhow::Result<i32> {
    match command {
        Command::Serve(args) => serve::run(args, config).await,
        Command::Generate(args) => generate::run(&args),
        Command::Import(args) => import::run(args, config).await,
        Command::ImportFx(args) => fx::run(args, config).await,
        Command::Token(args) => token::run(&args, &config),
        Command::Demo(args) => demo::run(args, config).await,
        Command::Profile(args) => profile::run(args, config).await,
        Command::Train(command) => profile::train(command, config).await,
        Command::Eval(command) => eval::run(command).await,
        Command::Bench(command) => bench_command::run(command, config).await,
        Command::Portfolio(command) => portfolio::run(command).await,
        Command::Credit(command) => credit::run(command, config).await,
        Command::Marketing(command) => marketing::run(command, config).await,
        Command::Monitoring(command) => monitoring::run(command, config).await,
        Command::Audit(command) => audit::run(command, config).await,
        Command::Loyalty(command) => loyalty::run(command, config).await,
        Command::Keys(command) => keys::run(command, config).await,
        Command::Staff(command) => staff::run(command, config).await,
    }
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
