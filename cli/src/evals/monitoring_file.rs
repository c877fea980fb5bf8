//! `sextant monitoring eval --data FILE ...`: transaction monitoring's model on any
//! labelled transaction file, against a gradient-boosting baseline on the raw columns alone.
//!
//! Only the columns named are read (a file may carry others, including ones that leak the
//! label). Rows are put in time order; the earliest 70% train, the rest test. Each row
//! becomes a payment of its customer and goes through the monitoring state in time order
//! (the test rows see the history before them, as a live system would), giving the windowed
//! features and the typology scores ([`sextant_monitoring::features`]). Both models are
//! the same calibrated gradient boosting with time-ordered validation
//! ([`sextant_models::fraud`]); only their inputs differ.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use ndarray::Array2;
use serde::Serialize;
use sextant_domain::{
    AccountRef, AmountMinor, Channel, Counterparty, CountryCode, Currency, CustomerId, Direction,
    EventId, Mcc, MerchantId, PaymentEvent, PaymentKind, PaymentStatus,
};
use sextant_models::evaluation::{average_precision, recall_at_share, roc_auc};
use sextant_models::fraud::FraudModel;
use sextant_monitoring::features::{detect_with_features, names, WIDTH};
use sextant_monitoring::{CustomerState, Params};

/// The earliest share of rows (by time) that trains.
pub const TRAIN_SHARE: f64 = 0.7;
/// Most distinct values of the type column one-hot encoded in the baseline.
const TYPES_MAX: usize = 20;

#[derive(clap::Args)]
pub struct FileEvalArgs {
    /// A CSV file with a header row.
    #[arg(long)]
    pub data: PathBuf,
    /// The column naming the account or customer a transaction belongs to.
    #[arg(long)]
    pub customer: String,
    /// The column with the time: a number of hours since the start (as PaySim's `step`), or
    /// RFC 3339.
    #[arg(long)]
    pub time: String,
    #[arg(long)]
    pub amount: String,
    /// The label column: 1/0, true/false or yes/no.
    #[arg(long)]
    pub label: String,
    /// The transaction type column (mapped onto payment kinds: TRANSFER, CASH_OUT, PAYMENT,
    /// DEBIT, CASH_IN, DEPOSIT, WIRE, ...).
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// The counterparty column (counted like merchants: fan-out shows as many distinct ones).
    #[arg(long)]
    pub counterparty: Option<String>,
    /// More numeric columns, comma-separated, given to both models.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    #[arg(long, default_value_t = ',')]
    pub delimiter: char,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelFigures {
    pub model: String,
    pub features: usize,
    pub trees: usize,
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub recall_at_1_percent_alerted: f64,
    pub recall_at_0_1_percent_alerted: f64,
    pub fit_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEval {
    pub data: String,
    pub rows: usize,
    pub customers: usize,
    pub positives: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub test_positives: usize,
    /// Alerts per 1,000 customers a day when 1% of the test period's transactions are
    /// alerted (the same for both models: the volume is fixed, what they catch differs).
    pub alerts_per_1000_customers_per_day_at_1_percent: f64,
    /// The baseline first, then the monitoring model.
    pub models: Vec<ModelFigures>,
}

struct Row {
    customer: String,
    at: DateTime<Utc>,
    amount: f64,
    label: bool,
    kind: Option<String>,
    counterparty: Option<String>,
    extra: Vec<f64>,
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> anyhow::Result<usize> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no column `{name}`; the header has: {}",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })
}

/// The start of a file's numeric time axis.
fn origin() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_577_836_800, 0).expect("2020-01-01 is in range")
}

fn read(args: &FileEvalArgs) -> anyhow::Result<Vec<Row>> {
    anyhow::ensure!(
        args.delimiter.is_ascii(),
        "--delimiter must be one ASCII character"
    );
    let path = &args.data;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(args.delimiter as u8)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let at = |name: &str| column(&headers, name, path);
    let (c_customer, c_time, c_amount, c_label) = (
        at(&args.customer)?,
        at(&args.time)?,
        at(&args.amount)?,
        at(&args.label)?,
    );
    let c_kind = args.kind.as_deref().map(at).transpose()?;
    let c_counterparty = args.counterparty.as_deref().map(at).transpose()?;
    let c_extra: Vec<usize> = args
        .features
        .iter()
        .map(|f| at(f))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{}: line {line}", path.display()))?;
        let cell = |c: usize| record.get(c).unwrap_or("").trim();
        let bad = |c: usize, what: &str| {
            anyhow::anyhow!(
                "{}: line {line}, column {} (`{}`): {what}",
                path.display(),
                c + 1,
                &headers[c]
            )
        };
        let time = cell(c_time);
        let at = match time.parse::<f64>() {
            Ok(hours) if hours.is_finite() => {
                origin() + chrono::Duration::milliseconds((hours * 3.6e6) as i64)
            }
            _ => DateTime::parse_from_rfc3339(time)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad(c_time, "not a number of hours or an RFC 3339 time"))?,
        };
        let amount: f64 = cell(c_amount)
            .parse()
            .ok()
            .filter(|a: &f64| a.is_finite() && *a >= 0.0)
            .ok_or_else(|| bad(c_amount, "not an amount of 0 or more"))?;
        let label = match cell(c_label).to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            _ => return Err(bad(c_label, "not 1/0, true/false or yes/no")),
        };
        let extra = c_extra
            .iter()
            .map(|&c| match cell(c) {
                "" => Ok(f64::NAN),
                v => v
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(c, "not a number")),
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        rows.push(Row {
            customer: cell(c_customer).to_owned(),
            at,
            amount,
            label,
            kind: c_kind.map(|c| cell(c).to_owned()),
            counterparty: c_counterparty
                .map(|c| cell(c).to_owned())
                .filter(|c| !c.is_empty()),
            extra,
        });
    }
    anyhow::ensure!(
        rows.len() >= 100,
        "{}: {} rows; at least 100 are needed",
        path.display(),
        rows.len()
    );
    rows.sort_by_key(|r| r.at);
    Ok(rows)
}

/// A file's transaction type as a payment kind.
fn kind_of(raw: Option<&str>) -> PaymentKind {
    match raw.map(str::to_ascii_uppercase).as_deref() {
        Some("TRANSFER" | "WIRE" | "TRANSFER_OUT") => PaymentKind::TransferOut,
        Some("CASH_OUT" | "ATM" | "WITHDRAWAL" | "CASH") => PaymentKind::Atm,
        Some("CASH_IN" | "DEPOSIT" | "CREDIT" | "TRANSFER_IN") => PaymentKind::TransferIn,
        Some("DEBIT" | "BILL") => PaymentKind::Bill,
        _ => PaymentKind::Purchase,
    }
}

/// An id the domain accepts: the value itself when it is one, else its hash.
fn id_of(raw: &str, prefix: char) -> String {
    if CustomerId::parse(raw).is_ok() {
        raw.to_owned()
    } else {
        format!("{prefix}{:016x}", sextant_hash::fnv1a64(raw.as_bytes()))
    }
}

fn payment(index: usize, row: &Row) -> anyhow::Result<PaymentEvent> {
    let kind = kind_of(row.kind.as_deref());
    let p = PaymentEvent {
        event_id: EventId::parse(&format!("r{index}"))?,
        customer_id: CustomerId::parse(&id_of(&row.customer, 'h'))?,
        occurred_at: row.at,
        amount: AmountMinor::new(((row.amount * 100.0).round() as i64).clamp(1, AmountMinor::MAX))?,
        currency: Currency::parse("EUR")?,
        direction: kind.required_direction().unwrap_or(Direction::Debit),
        kind,
        channel: Channel::Online,
        merchant_id: row
            .counterparty
            .as_deref()
            .map(|c| MerchantId::parse(&id_of(c, 'k')))
            .transpose()?,
        mcc: (kind == PaymentKind::Purchase)
            .then(|| Mcc::parse("5999"))
            .transpose()?,
        country: CountryCode::parse("CZ")?,
        card: None,
        status: PaymentStatus::Completed,
        balance_after_minor: None,
        // A transfer's other party also counts as a payee or a payer (fan-in, fan-out).
        counterparty: row
            .counterparty
            .as_deref()
            .filter(|_| kind != PaymentKind::Purchase)
            .map(|c| -> anyhow::Result<Counterparty> {
                Ok(Counterparty {
                    name: None,
                    account: Some(AccountRef::parse(&id_of(c, 'k'))?),
                })
            })
            .transpose()?,
        device_id: None,
        refund_of: None,
    };
    Ok(p)
}

fn figures(
    name: &str,
    feature_names: Vec<String>,
    x: &Array2<f64>,
    y: &[bool],
    cut: usize,
    seed: u64,
) -> anyhow::Result<ModelFigures> {
    let started = std::time::Instant::now();
    let width = feature_names.len();
    let model = FraudModel::fit(
        x.slice(ndarray::s![..cut, ..]),
        &y[..cut],
        feature_names,
        seed,
    )
    .with_context(|| format!("training the {name}"))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let test = x.slice(ndarray::s![cut.., ..]);
    let test = test.as_standard_layout();
    let scores: Vec<f64> = test
        .rows()
        .into_iter()
        .map(|r| model.probability(r.as_slice().expect("standard layout")))
        .collect();
    let labels = &y[cut..];
    Ok(ModelFigures {
        model: name.to_owned(),
        features: width,
        trees: model.trees,
        roc_auc: roc_auc(&scores, labels),
        pr_auc: average_precision(&scores, labels),
        recall_at_1_percent_alerted: recall_at_share(&scores, labels, 0.01),
        recall_at_0_1_percent_alerted: recall_at_share(&scores, labels, 0.001),
        fit_seconds,
    })
}

pub fn eval_file(args: &FileEvalArgs) -> anyhow::Result<FileEval> {
    let rows = read(args)?;
    let n = rows.len();
    let cut = (TRAIN_SHARE * n as f64).round() as usize;
    // The baseline's inputs: the amount, the hour, the type (one-hot over its most frequent
    // values) and the extra columns.
    let mut type_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        if let Some(k) = &r.kind {
            *type_counts.entry(k.as_str()).or_default() += 1;
        }
    }
    let mut types: Vec<(&str, usize)> = type_counts.into_iter().collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let types: Vec<String> = types
        .into_iter()
        .take(TYPES_MAX)
        .map(|(t, _)| t.to_owned())
        .collect();
    let mut raw_names = vec!["log_amount".to_owned(), "hour_of_day".to_owned()];
    raw_names.extend(types.iter().map(|t| format!("type_{t}")));
    raw_names.extend(args.features.iter().cloned());
    let mut windowed_names = names();
    windowed_names.extend(args.features.iter().cloned());

    let mut raw = Array2::<f64>::zeros((n, raw_names.len()));
    let mut windowed = Array2::<f64>::zeros((n, windowed_names.len()));
    let mut states: HashMap<String, CustomerState> = HashMap::new();
    let params = Params::default();
    let extra_at = raw_names.len() - args.features.len();
    for (i, row) in rows.iter().enumerate() {
        let p = payment(i, row)?;
        let state = states.entry(row.customer.clone()).or_default();
        let (_, features) = detect_with_features(state, &p, &params);
        for (j, v) in features.iter().enumerate() {
            windowed[[i, j]] = *v;
        }
        raw[[i, 0]] = (1.0 + row.amount).ln();
        raw[[i, 1]] = f64::from(chrono::Timelike::hour(&row.at));
        if let Some(k) = &row.kind {
            if let Some(t) = types.iter().position(|t| t == k) {
                raw[[i, 2 + t]] = 1.0;
            }
        }
        for (j, v) in row.extra.iter().enumerate() {
            raw[[i, extra_at + j]] = *v;
            windowed[[i, WIDTH + j]] = *v;
        }
    }
    let y: Vec<bool> = rows.iter().map(|r| r.label).collect();
    let test_customers: HashSet<&str> = rows[cut..].iter().map(|r| r.customer.as_str()).collect();
    let days = (rows[n - 1].at - rows[cut].at).num_milliseconds() as f64 / 8.64e7;
    let alerts = ((0.01 * (n - cut) as f64).floor()).max(1.0);
    let per_day = if days > 0.0 {
        1_000.0 * alerts / test_customers.len().max(1) as f64 / days
    } else {
        f64::NAN
    };
    let models = vec![
        figures(
            "baseline: gradient boosting on the raw columns",
            raw_names,
            &raw,
            &y,
            cut,
            args.seed,
        )?,
        figures(
            "monitoring: windowed features and typologies",
            windowed_names,
            &windowed,
            &y,
            cut,
            args.seed,
        )?,
    ];
    let customers: HashSet<&str> = rows.iter().map(|r| r.customer.as_str()).collect();
    Ok(FileEval {
        data: args.data.display().to_string(),
        rows: n,
        customers: customers.len(),
        positives: y.iter().filter(|v| **v).count(),
        train_rows: cut,
        test_rows: n - cut,
        test_positives: y[cut..].iter().filter(|v| **v).count(),
        alerts_per_1000_customers_per_day_at_1_percent: per_day,
        models,
    })
}
