//! `sextant keys`: the master key that wraps every customer's data key.
//!
//! A rotation, without downtime: generate a new key (`sextant keys generate --out FILE`);
//! configure the servers with `master_key_file = NEW` and
//! `previous_master_key_files = [OLD]` (they then wrap new data keys under the new key and
//! still open the old ones; restart replicas one at a time); run `sextant keys rotate` with
//! the same configuration until it reports no key left under the old one; remove OLD from
//! the configuration and destroy it.

use std::io::Write;

use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_store::{crypto::MasterKey, Actor};

use crate::output::{emit, Report};

/// Data keys re-wrapped per transaction.
const BATCH: u64 = 1_000;

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Write a new random master key (base64) to a file only its owner can read.
    Generate {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Wrap every data key again under the configured master key (see the module).
    Rotate {
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct Rotation {
    current_master_key: String,
    data_keys_rewrapped: u64,
    /// Data keys per master key id after the rotation.
    data_keys_by_master_key: std::collections::BTreeMap<String, u64>,
}

impl Report for Rotation {
    fn print_table(&self) {
        println!(
            "re-wrapped {} data keys under master key {}",
            self.data_keys_rewrapped, self.current_master_key
        );
        println!("| master key | data keys |");
        println!("|---|---|");
        for (id, n) in &self.data_keys_by_master_key {
            println!("| {id} | {n} |");
        }
    }
}

pub async fn run(command: KeysCommand, mut config: Config) -> anyhow::Result<i32> {
    match command {
        KeysCommand::Generate { out } => {
            anyhow::ensure!(!out.exists(), "{} exists already", out.display());
            let (key, text) = MasterKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            writeln!(options.open(&out)?, "{text}")?;
            println!("wrote master key {} to {}", key.id(), out.display());
            Ok(0)
        }
        KeysCommand::Rotate { data_dir, json } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let keyring = sextant_api::startup::keyring(&config)?;
            let current = keyring.current_id().to_owned();
            let store = open_store(&config).await?;
            let mut rewrapped = 0;
            loop {
                let n = store.rewrap_keys(BATCH, &Actor::operator()).await?;
                rewrapped += n;
                if n > 0 {
                    eprintln!("re-wrapped {rewrapped} data keys");
                }
                if n < BATCH {
                    break;
                }
            }
            let report = Rotation {
                current_master_key: current,
                data_keys_rewrapped: rewrapped,
                data_keys_by_master_key: store.keys_by_master().await?.into_iter().collect(),
            };
            emit(&report, json)?;
            Ok(0)
        }
    }
}
