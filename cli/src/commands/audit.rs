//! `sextant audit verify`: walks the whole audit trail and names the first entry that was
//! changed, deleted, inserted or moved, then checks the signed checkpoints against the
//! audit public key (a trail rewritten from scratch, or a checkpoint deleted or forged);
//! with `--expect-head SEQ:HASH` (a head written down earlier) it also shows entries after
//! the last checkpoint cut away. `sextant audit checkpoint` signs the checkpoints a trail
//! older than checkpoints lacks.

use std::collections::HashMap;
use std::path::PathBuf;

use sextant_api::config::Config;
use sextant_api::startup::{
    audit_key_file, audit_public_key_file, audit_signer, open_store, open_store_with,
};
use sextant_store::audit::{Checkpoint, CheckpointVerifier, Verifier};
use sextant_store::AuditFilter;

use crate::output::{emit, Report};

/// Entries read per query.
const PAGE: u64 = 5_000;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of the audit trail and its signed checkpoints.
    Verify(VerifyArgs),
    /// Sign the checkpoints the trail lacks (a trail that began before checkpoints); needs
    /// the audit key.
    Checkpoint(CheckpointArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A head printed by an earlier verification, `SEQ:HASH`, that must still be there.
    #[arg(long)]
    expect_head: Option<String>,
    /// An audit public key file (base64 Ed25519) whose checkpoints to accept; repeat it for
    /// keys of before a rotation. Default: the `.pub` file beside the audit key file.
    #[arg(long = "public-key")]
    public_keys: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CheckpointArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Verification {
    entries_checked: u64,
    /// Signed checkpoints checked against the public keys and the entries they name.
    checkpoints_verified: u64,
    /// Entries between checkpoints.
    checkpoint_every: i64,
    intact: bool,
    /// The first break, in words, when the trail is not intact.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_break: Option<String>,
    /// The entry where it breaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_break_seq: Option<i64>,
    /// The last entry's number and hash: write it down to check against later.
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<String>,
}

impl Report for Verification {
    fn print_table(&self) {
        println!("| entries checked | signed checkpoints verified | intact | first break | head |");
        println!("|---|---|---|---|---|");
        println!(
            "| {} | {} (one every {}) | {} | {} | {} |",
            self.entries_checked,
            self.checkpoints_verified,
            self.checkpoint_every,
            if self.intact { "yes" } else { "NO" },
            self.first_break.as_deref().unwrap_or("-"),
            self.head.as_deref().unwrap_or("-"),
        );
    }
}

pub async fn run(command: AuditCommand, config: Config) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify(args) => verify(args, config).await,
        AuditCommand::Checkpoint(args) => checkpoint(args, config).await,
    }
}

/// The public keys to verify checkpoints with: those given, or the one beside the audit key.
fn public_keys(args: &VerifyArgs, config: &Config) -> anyhow::Result<Vec<String>> {
    let files = if args.public_keys.is_empty() {
        vec![audit_public_key_file(&audit_key_file(config))]
    } else {
        args.public_keys.clone()
    };
    files
        .iter()
        .map(|path| {
            std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the audit public key {}: {e} (give it with --public-key)",
                    path.display()
                )
            })
        })
        .collect()
}

async fn verify(args: VerifyArgs, mut config: Config) -> anyhow::Result<i32> {
    config.data_dir = args.data_dir.clone().unwrap_or(config.data_dir);
    let expect_head = args
        .expect_head
        .as_deref()
        .map(|text| {
            let (seq, hash) = text
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--expect-head: write it as SEQ:HASH"))?;
            let seq: i64 = seq
                .parse()
                .map_err(|_| anyhow::anyhow!("--expect-head: SEQ must be a whole number"))?;
            anyhow::Ok((seq, hash.to_owned()))
        })
        .transpose()?;
    let keys = CheckpointVerifier::new(&public_keys(&args, &config)?)?;
    // Read only: no signer, so verifying never needs (or creates) the private audit key.
    let store = open_store_with(&config, None).await?;
    let checkpoints = all_checkpoints(store.as_ref()).await?;
    let mut named: HashMap<i64, String> =
        checkpoints.iter().map(|c| (c.seq, String::new())).collect();
    let mut verifier = Verifier::new(expect_head);
    let mut after = 0;
    let mut broken: Option<(i64, String)> = None;
    'pages: loop {
        let page = store
            .audit_entries(&AuditFilter::default(), after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in &page {
            if let Err(tamper) = verifier.check(entry) {
                broken = Some((tamper.seq(), tamper.to_string()));
                break 'pages;
            }
            if let Some(hash) = named.get_mut(&entry.seq) {
                hash.clone_from(&entry.hash);
            }
        }
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    let mut head = None;
    if broken.is_none() {
        match verifier.finish() {
            Ok(h) => head = h,
            Err(tamper) => broken = Some((tamper.seq(), tamper.to_string())),
        }
    }
    let mut checkpoints_verified = 0;
    if broken.is_none() {
        let head_seq = head.as_ref().map_or(0, |(seq, _)| *seq);
        let hash_at = |seq: i64| named.get(&seq).filter(|h| !h.is_empty()).cloned();
        match keys.verify(
            &checkpoints,
            head_seq,
            config.audit_checkpoint_every,
            hash_at,
        ) {
            Ok(n) => checkpoints_verified = n,
            Err(b) => broken = Some((b.seq(), b.to_string())),
        }
    }
    let report = Verification {
        entries_checked: verifier.checked,
        checkpoints_verified,
        checkpoint_every: config.audit_checkpoint_every,
        intact: broken.is_none(),
        first_break_seq: broken.as_ref().map(|(seq, _)| *seq),
        first_break: broken.map(|(_, what)| what),
        head: head.map(|(seq, hash)| format!("{seq}:{hash}")),
    };
    emit(&report, args.json)?;
    Ok(if report.intact { 0 } else { 2 })
}

async fn all_checkpoints(store: &dyn sextant_store::Store) -> anyhow::Result<Vec<Checkpoint>> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |c: &Checkpoint| c.seq);
        let page = store.audit_checkpoints(after, PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

#[derive(serde::Serialize)]
struct Signed {
    /// Checkpoints signed now, where the trail had none.
    checkpoints_signed: u64,
    checkpoint_every: i64,
    /// The audit key's id.
    key_id: String,
}

impl Report for Signed {
    fn print_table(&self) {
        println!("| checkpoints signed | every | key |");
        println!("|---|---|---|");
        println!(
            "| {} | {} | {} |",
            self.checkpoints_signed, self.checkpoint_every, self.key_id
        );
    }
}

async fn checkpoint(args: CheckpointArgs, mut config: Config) -> anyhow::Result<i32> {
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let signer = audit_signer(&config)?;
    let store = open_store(&config).await?;
    let signed = store.sign_missing_checkpoints(&signer).await?;
    let report = Signed {
        checkpoints_signed: signed,
        checkpoint_every: signer.every(),
        key_id: signer.key_id().to_owned(),
    };
    emit(&report, args.json)?;
    Ok(0)
}
