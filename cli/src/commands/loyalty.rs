//! `sextant loyalty earn`: runs the earning rules over stored payments, posting only what
//! is missing (after an import without them, or to repair an interruption);
//! `sextant loyalty expire`: the expiry job, for a scheduler (safe to run twice, or on two
//! servers at once: each lot expires in one posting); `sextant loyalty liability`: the
//! points outstanding by the month they expire, and their value, for finance.

use std::path::PathBuf;

use chrono::Utc;
use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_services::loyalty::{self, ExpiryReport, LiabilityReport};
use sextant_store::Actor;

use crate::output::{emit, Report};

#[derive(clap::Subcommand)]
pub enum LoyaltyCommand {
    /// Run the earning rules over stored purchases and refunds; what already earned is
    /// left as it is.
    Earn(EarnArgs),
    /// Expire every lot of points past its last valid day.
    Expire(LoyaltyArgs),
    /// Points outstanding by expiry month, and their value.
    Liability(LoyaltyArgs),
}

#[derive(clap::Args)]
pub struct LoyaltyArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct EarnArgs {
    /// The first day (YYYY-MM-DD) whose payments are read; default: 24 months ago (points
    /// older than that have expired).
    #[arg(long)]
    since: Option<chrono::NaiveDate>,
    #[command(flatten)]
    common: LoyaltyArgs,
}

impl Report for loyalty::EarnReport {
    fn print_table(&self) {
        println!("| payments read | earned | points earned | refunds reversed | points taken back | already spent | already posted |");
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.payments,
            self.earned,
            self.points_earned,
            self.reversed,
            self.points_reversed,
            self.shortfall,
            self.already_posted
        );
        if !self.nothing.is_empty() {
            println!();
            println!("| no points, because | payments |");
            println!("|---|---|");
            for (why, n) in &self.nothing {
                println!("| {why} | {n} |");
            }
        }
        if self.refused_customers > 0 {
            println!(
                "{} customers' ledgers refused their postings (see the log)",
                self.refused_customers
            );
        }
    }
}

impl Report for ExpiryReport {
    fn print_table(&self) {
        println!("| expired before | customers | lots | points |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            self.day, self.customers, self.lots, self.points
        );
    }
}

impl Report for LiabilityReport {
    fn print_table(&self) {
        println!(
            "points outstanding on {} ({} per point value)",
            self.as_of, self.currency
        );
        println!("| expires in | points | value (minor units) | lots | customers |");
        println!("|---|---|---|---|---|");
        for m in &self.months {
            println!(
                "| {} | {} | {} | {} | {} |",
                m.month, m.points, m.value_minor, m.lots, m.customers
            );
        }
        println!("| all | {} | {} | | |", self.points, self.value_minor);
    }
}

pub async fn run(command: LoyaltyCommand, mut config: Config) -> anyhow::Result<i32> {
    let (LoyaltyCommand::Earn(EarnArgs { common: args, .. })
    | LoyaltyCommand::Expire(args)
    | LoyaltyCommand::Liability(args)) = &command;
    config.data_dir = args.data_dir.clone().unwrap_or(config.data_dir);
    let json = args.json;
    let store = open_store(&config).await?;
    match command {
        LoyaltyCommand::Earn(earn) => {
            let now = Utc::now();
            let since = match earn.since {
                Some(day) => day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc(),
                None => now - chrono::Months::new(24),
            };
            let bar = crate::progress::bar(0, "earn {bar:40} {pos} customers {per_sec}");
            let report = loyalty::earn_stored(
                store.as_ref(),
                &loyalty::rules(),
                since,
                &Actor::operator(),
                now,
                |done| bar.set_position(done),
            )
            .await?;
            bar.finish_and_clear();
            emit(&report, json)?;
        }
        LoyaltyCommand::Expire(_) => {
            let report =
                loyalty::expire_all(store.as_ref(), &Actor::operator(), Utc::now()).await?;
            emit(&report, json)?;
        }
        LoyaltyCommand::Liability(_) => {
            emit(&loyalty::liability(store.as_ref(), Utc::now()).await?, json)?;
        }
    }
    Ok(0)
}
