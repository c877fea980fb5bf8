//! `sextant generate`: writes a synthetic population as JSON lines, in exactly the record
//! shapes the API and `sextant import` accept, plus a ground-truth file for evaluation.
//!
//! Customers are generated in parallel chunks and written in order, so the output depends
//! only on the configuration, and memory stays bounded by one chunk per thread.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sextant_services::lending::operations::Labels;
use sextant_services::records::{BehaviourRecord, CustomerRecord, HoldingRecord, PaymentRecord};
use sextant_synth::{generate_customer, Config, CustomerBundle};

use crate::progress;

/// Customers per work unit: big enough to amortise thread hand-offs, small enough that
/// a unit's buffers stay a few megabytes.
const CHUNK_CUSTOMERS: u64 = 256;

pub const CUSTOMERS_FILE: &str = "customers.jsonl";
pub const PAYMENTS_FILE: &str = "payments.jsonl";
pub const BEHAVIOUR_FILE: &str = "behaviour.jsonl";
pub const HOLDINGS_FILE: &str = "holdings.jsonl";
pub const TRUTH_FILE: &str = "ground_truth.jsonl";
pub const MANIFEST_FILE: &str = "manifest.json";
/// The generated sanctions list (invented parties, the SDN CSV layout) that the
/// sanctioned-payee scheme pays; the demo screens against it.
pub const SANCTIONS_FILE: &str = "sanctions.csv";
/// The reference rates the travellers' foreign-currency payments were charged at, in the
/// ECB's CSV layout (`sextant import-fx` reads it; the demo imports it with the population).
pub const FX_RATES_FILE: &str = "fx-rates.csv";

/// Evaluation-only facts about a customer; never imported into the service.
#[derive(Serialize)]
struct TruthRecord<'a> {
    customer_id: &'a str,
    persona: &'a str,
    risk_tolerance: String,
    default_propensity: f64,
    defaulted_next_12m: bool,
    monthly_income_minor: i64,
    product_affinities: BTreeMap<&'a str, f64>,
    /// The fraud or laundering scheme planted in the customer's payments.
    #[serde(skip_serializing_if = "Option::is_none")]
    fraud_scheme: Option<&'static str>,
    /// Its payments' event ids, in time order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fraud_event_ids: Vec<&'a str>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerateReport {
    pub customers: u64,
    pub payments: u64,
    pub behaviour: u64,
    pub holdings: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

#[derive(Serialize)]
struct Manifest<'a> {
    generator: &'static str,
    seed: u64,
    months: u32,
    end_date: String,
    counts: &'a GenerateReport,
}

#[derive(Default)]
struct Buffers {
    customers: Vec<u8>,
    payments: Vec<u8>,
    behaviour: Vec<u8>,
    holdings: Vec<u8>,
    truth: Vec<u8>,
    report: GenerateReport,
}

fn line<T: Serialize>(buf: &mut Vec<u8>, record: &T) {
    serde_json::to_writer(&mut *buf, record).expect("records serialise to memory");
    buf.push(b'\n');
}

fn render(bundle: &CustomerBundle, out: &mut Buffers) {
    line(
        &mut out.customers,
        &CustomerRecord::from_domain(&bundle.customer),
    );
    for p in &bundle.payments {
        line(&mut out.payments, &PaymentRecord::from_domain(p));
    }
    for b in &bundle.behaviour {
        line(&mut out.behaviour, &BehaviourRecord::from_domain(b));
    }
    for h in &bundle.holdings {
        line(&mut out.holdings, &HoldingRecord::from_domain(h));
    }
    let t = &bundle.truth;
    line(
        &mut out.truth,
        &TruthRecord {
            customer_id: t.customer_id.as_str(),
            persona: t.persona.as_str(),
            risk_tolerance: t.risk_tolerance.to_string(),
            default_propensity: t.default_propensity,
            defaulted_next_12m: t.defaulted_next_12m,
            monthly_income_minor: t.monthly_income_minor,
            product_affinities: t
                .product_affinities
                .iter()
                .map(|(id, score)| (id.as_str(), *score))
                .collect(),
            fraud_scheme: t.fraud.as_ref().map(|f| f.scheme.as_str()),
            fraud_event_ids: t
                .fraud
                .iter()
                .flat_map(|f| f.event_ids.iter().map(|e| e.as_str()))
                .collect(),
        },
    );
    out.report.customers += 1;
    out.report.payments += bundle.payments.len() as u64;
    out.report.behaviour += bundle.behaviour.len() as u64;
    out.report.holdings += bundle.holdings.len() as u64;
}

fn chunk(config: &Config, first: u64) -> Buffers {
    let mut out = Buffers::default();
    for index in first..(first + CHUNK_CUSTOMERS).min(config.customers) {
        render(&generate_customer(config, index), &mut out);
    }
    out
}

struct Files {
    customers: BufWriter<File>,
    payments: BufWriter<File>,
    behaviour: BufWriter<File>,
    holdings: BufWriter<File>,
    truth: BufWriter<File>,
}

fn create(dir: &Path, name: &str) -> anyhow::Result<BufWriter<File>> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// Writes the population into `out_dir`; `on_progress(customers_done)` is called as chunks land.
pub fn generate(
    config: &Config,
    out_dir: &Path,
    mut on_progress: impl FnMut(u64),
) -> anyhow::Result<GenerateReport> {
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut files = Files {
        customers: create(out_dir, CUSTOMERS_FILE)?,
        payments: create(out_dir, PAYMENTS_FILE)?,
        behaviour: create(out_dir, BEHAVIOUR_FILE)?,
        holdings: create(out_dir, HOLDINGS_FILE)?,
        truth: create(out_dir, TRUTH_FILE)?,
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let mut report = GenerateReport::default();
    let mut next = 0;
    while next < config.customers {
        let firsts: Vec<u64> = (0..threads)
            .map(|t| next + t * CHUNK_CUSTOMERS)
            .filter(|&f| f < config.customers)
            .collect();
        let rendered: Vec<Buffers> = std::thread::scope(|scope| {
            let handles: Vec<_> = firsts
                .iter()
                .map(|&first| scope.spawn(move || chunk(config, first)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("generator threads do not panic"))
                .collect()
        });
        for part in rendered {
            files.customers.write_all(&part.customers)?;
            files.payments.write_all(&part.payments)?;
            files.behaviour.write_all(&part.behaviour)?;
            files.holdings.write_all(&part.holdings)?;
            files.truth.write_all(&part.truth)?;
            report.customers += part.report.customers;
            report.payments += part.report.payments;
            report.behaviour += part.report.behaviour;
            report.holdings += part.report.holdings;
        }
        next += threads * CHUNK_CUSTOMERS;
        on_progress(report.customers);
    }
    for writer in [
        &mut files.customers,
        &mut files.payments,
        &mut files.behaviour,
        &mut files.holdings,
        &mut files.truth,
    ] {
        writer.flush()?;
    }
    std::fs::write(
        out_dir.join(SANCTIONS_FILE),
        sextant_synth::sanctions::sdn_csv(),
    )?;
    std::fs::write(
        out_dir.join(FX_RATES_FILE),
        sextant_synth::fx::ecb_csv(config),
    )?;
    report.elapsed = started.elapsed();
    let manifest = Manifest {
        generator: concat!("sextant-synth ", env!("CARGO_PKG_VERSION")),
        seed: config.seed,
        months: config.months,
        end_date: config.end_date.to_string(),
        counts: &report,
    };
    std::fs::write(
        out_dir.join(MANIFEST_FILE),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(report)
}

/// The outcome fields of a ground-truth line (see `TruthRecord`).
#[derive(Deserialize)]
struct TruthOutcome {
    customer_id: String,
    default_propensity: f64,
    defaulted_next_12m: bool,
}

/// A population's ground truth as credit training reads it: each customer's default outcome
/// and true propensity, and the file they came from.
pub struct Truth {
    outcomes: HashMap<String, (bool, f64)>,
    source: String,
}

impl Truth {
    /// Reads a ground-truth file; a line that does not parse is named by its number.
    pub fn read(path: &Path) -> anyhow::Result<Truth> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut outcomes = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let t: TruthOutcome = serde_json::from_str(line)
                .with_context(|| format!("{}:{}", path.display(), i + 1))?;
            outcomes.insert(t.customer_id, (t.defaulted_next_12m, t.default_propensity));
        }
        Ok(Truth {
            outcomes,
            source: path.display().to_string(),
        })
    }

    /// The labels `train_population` takes.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            outcomes: &self.outcomes,
            source: &self.source,
        }
    }
}

/// The population to generate: how many customers, how many months of history, the seed.
#[derive(clap::Args, Clone)]
pub struct PopulationArgs {
    #[arg(long, default_value_t = 20_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    population: PopulationArgs,
    #[arg(long)]
    out: PathBuf,
    /// Last day of the generated history (YYYY-MM-DD); fixed by default so output is reproducible.
    #[arg(long)]
    end_date: Option<chrono::NaiveDate>,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<i32> {
    let report = generate_with_progress(&args.population, args.end_date, &args.out)?;
    println!(
        "wrote {} customers, {} payments, {} behaviour events, {} holdings to {} in {:.1}s",
        report.customers,
        report.payments,
        report.behaviour,
        report.holdings,
        args.out.display(),
        report.elapsed.as_secs_f64()
    );
    Ok(0)
}

/// Generates `population` into `out` with a progress bar.
pub fn generate_with_progress(
    population: &PopulationArgs,
    end_date: Option<chrono::NaiveDate>,
    out: &Path,
) -> anyhow::Result<GenerateReport> {
    let config = Config {
        customers: population.customers,
        months: population.months,
        seed: population.seed,
        end_date: end_date.unwrap_or(Config::DEFAULT_END_DATE),
    };
    let bar = progress::bar(
        population.customers,
        "generate {bar:40} {pos}/{len} customers {per_sec} eta {eta}",
    );
    let report = generate(&config, out, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    #[test]
    fn every_way_a_planted_payee_is_written_matches_the_generated_list() {
        let list = sextant_monitoring::screening::Watchlist::from_sdn_csv(
            &sextant_synth::sanctions::sdn_csv(),
        )
        .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let name = sextant_synth::sanctions::payee_name(&mut rng);
            let found = list.screen(&name, sextant_monitoring::screening::DEFAULT_THRESHOLD);
            assert!(!found.is_empty(), "{name} matches nobody");
        }
    }
}
