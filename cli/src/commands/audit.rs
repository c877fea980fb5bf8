//! `sextant audit verify`: walks the whole audit trail and names the first entry that was
//! changed, deleted, inserted or moved; with `--expect-head SEQ:HASH` (a head written down
//! earlier) also shows a trail rewritten from scratch.

use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_store::audit::Verifier;
use sextant_store::AuditFilter;

use crate::output::{emit, Report};

/// Entries read per query.
const PAGE: u64 = 5_000;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of the audit trail.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// A head printed by an earlier verification, `SEQ:HASH`, that must still be there.
    #[arg(long)]
    expect_head: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Verification {
    entries_checked: u64,
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
        println!("| entries checked | intact | first break | head |");
        println!("|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} |",
            self.entries_checked,
            if self.intact { "yes" } else { "NO" },
            self.first_break.as_deref().unwrap_or("-"),
            self.head.as_deref().unwrap_or("-"),
        );
    }
}

pub async fn run(command: AuditCommand, mut config: Config) -> anyhow::Result<i32> {
    let AuditCommand::Verify(args) = command;
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
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
    let store = open_store(&config).await?;
    let mut verifier = Verifier::new(expect_head);
    let mut after = 0;
    let mut broken = None;
    'pages: loop {
        let page = store
            .audit_entries(&AuditFilter::default(), after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in &page {
            if let Err(tamper) = verifier.check(entry) {
                broken = Some(tamper);
                break 'pages;
            }
        }
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    let head = match (&broken, verifier.finish()) {
        (None, Ok(head)) => head,
        (None, Err(tamper)) => {
            broken = Some(tamper);
            None
        }
        (Some(_), _) => None,
    };
    let seq_of = |t: &sextant_store::audit::Tamper| match t {
        sextant_store::audit::Tamper::Changed { seq }
        | sextant_store::audit::Tamper::Missing { seq }
        | sextant_store::audit::Tamper::Unlinked { seq }
        | sextant_store::audit::Tamper::HeadNotFound { seq } => *seq,
    };
    let report = Verification {
        entries_checked: verifier.checked,
        intact: broken.is_none(),
        first_break_seq: broken.as_ref().map(seq_of),
        first_break: broken.as_ref().map(ToString::to_string),
        head: head.map(|(seq, hash)| format!("{seq}:{hash}")),
    };
    emit(&report, args.json)?;
    Ok(if report.intact { 0 } else { 2 })
}
