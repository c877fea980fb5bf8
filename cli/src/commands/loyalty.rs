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
    let (LoyaltyCommand::Expire(args) | LoyaltyCommand::Liability(args)) = &command;
    config.data_dir = args.data_dir.clone().unwrap_or(config.data_dir);
    let json = args.json;
    let store = open_store(&config).await?;
    match command {
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
