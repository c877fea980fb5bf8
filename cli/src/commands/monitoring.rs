//! `sextant monitoring scan`: every stored payment replayed through the typology detectors,
//! with how many alerts each would raise per 1,000 customers a day; `sextant monitoring
//! eval-population`: recall per planted scheme and false positives per persona on a
//! generated population; `sextant monitoring rules` and `backtest`: compliance's rules, and
//! what a rule would have raised on the stored history; `sextant monitoring train`: the
//! model in the live score, trained on labelled stored payments.

use std::path::PathBuf;

use sextant_api::config::Config;
use sextant_api::startup::{open_context, open_store, open_store_with};
use sextant_monitoring::Params;
use sextant_services::monitoring::model::{self, PaymentLabels, TrainOptions, TrainedModelView};
use sextant_services::monitoring::rules::{
    self, BacktestRequest, BacktestView, MonitoringRuleView, MonitoringRulesView,
};
use sextant_services::monitoring::{scan, ScanReport};
use sextant_services::ServiceError;
use sextant_store::Actor;

use crate::evals::monitoring_file::{eval_file, FileEval, FileEvalArgs};
use crate::evals::monitoring_population::{eval_population, PopulationEval};
use crate::evals::screening::{self as screening_eval, ScreeningEval};
use crate::output::{emit, Report};

#[derive(clap::Subcommand)]
pub enum MonitoringCommand {
    /// Replay every stored payment through the typology detectors and count the alerts
    /// each would raise (nothing is stored).
    Scan(ScanArgs),
    /// Generate a population with planted fraud and laundering, and measure the detectors
    /// and the decision policy on it: recall per scheme, false positives per persona.
    EvalPopulation(EvalPopulationArgs),
    /// Train and test on a labelled transaction file (earliest 70% by time trains): the
    /// monitoring model against a gradient-boosting baseline on the raw columns alone.
    Eval(FileEvalArgs),
    /// Compliance's rules: every version with its mode and hits.
    Rules(StoreArgs),
    /// Add a version of a rule (the first makes the rule), in shadow or live mode; it runs
    /// on the payments stored from then on. A rule that does not parse is refused with its
    /// line and column.
    AddRule(AddRuleArgs),
    /// Replay every stored payment through a rule and count the alerts it would raise, with
    /// precision and recall against closed cases' dispositions (nothing is stored but the
    /// audit entry).
    Backtest(BacktestArgs),
    /// Train the monitoring model on a seeded sample of the stored customers (labels: a
    /// generated population's ground truth, or closed cases), measure it on the latest 30%
    /// of their payments, store it and put it in the live score.
    Train(TrainArgs),
    /// Screen a name against a sanctions list file (OFAC SDN layout).
    Screen(ScreenArgs),
    /// Measure name screening on a sanctions list: recall of listed names written six
    /// other ways, hits on ordinary names, names screened per second.
    EvalScreening(EvalScreeningArgs),
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Label payments by a generated population's ground truth (its `ground_truth.jsonl`:
    /// the planted payments are positive) rather than by closed cases (payments alerted in
    /// cases closed as fraud or laundering_reported).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Customers sampled (seeded); every payment of each is read.
    #[arg(long, default_value_t = model::DEFAULT_CUSTOMERS)]
    customers: u64,
    /// The share of payments the model's review threshold is set to review.
    #[arg(long, default_value_t = model::DEFAULT_ALERT_RATE)]
    alert_rate: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Store the model without putting it in the live score.
    #[arg(long)]
    no_activate: bool,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Report for TrainedModelView {
    fn print_table(&self) {
        let f = &self.figures;
        println!(
            "monitoring model {} ({}): {} customers, {} payments, {} labelled fraud or laundering ({})",
            self.version,
            if self.active { "active: it scores payments now" } else { "stored, not active" },
            f.customers,
            f.payments,
            f.positive_payments,
            self.labels
        );
        println!(
            "trained on the earliest {} payments, tested on the latest {} ({} positive); {} trees over {} features, fitted in {:.1} s ({:.1} s in all)",
            f.train_payments, f.test_payments, f.test_positive_payments, f.trees, f.features, f.fit_seconds, self.seconds
        );
        println!();
        println!("| ROC-AUC | PR-AUC | alert rate | recall at it | review threshold | precision at it | reviews per 1,000 customers a day |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {:.4} | {:.4} | {:.2}% | {:.1}% | {:.4} | {:.1}% | {:.2} |",
            f.roc_auc,
            f.pr_auc,
            f.alert_rate * 100.0,
            f.recall_at_alert_rate * 100.0,
            f.review_at,
            f.precision_at_review * 100.0,
            f.reviews_per_1000_customers_per_day
        );
    }
}

#[derive(clap::Args)]
pub struct ScreenArgs {
    /// The name, in any order and script.
    name: String,
    /// The list, in the OFAC SDN CSV layout.
    #[arg(long)]
    list: PathBuf,
    #[arg(long, default_value_t = sextant_monitoring::screening::DEFAULT_THRESHOLD)]
    threshold: f64,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct EvalScreeningArgs {
    /// The list, in the OFAC SDN CSV layout.
    #[arg(long)]
    list: PathBuf,
    /// Entries written other ways.
    #[arg(long, default_value_t = 2_000)]
    sample: usize,
    #[arg(long, default_value_t = sextant_monitoring::screening::DEFAULT_THRESHOLD)]
    threshold: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

/// What `sextant monitoring screen` found.
#[derive(serde::Serialize)]
pub struct ScreenReport {
    pub name: String,
    pub list: String,
    pub threshold: f64,
    pub matches: Vec<sextant_monitoring::screening::Match>,
}

impl Report for ScreenReport {
    fn print_table(&self) {
        if self.matches.is_empty() {
            println!(
                "{}: no listed name scores {} or more in {}",
                self.name, self.threshold, self.list
            );
            return;
        }
        println!("| score | entry | listed name | matched name | type | programme |");
        println!("|---:|---:|---|---|---|---|");
        for m in &self.matches {
            println!(
                "| {:.3} | {} | {} | {} | {} | {} |",
                m.score, m.ent_num, m.listed_name, m.matched_name, m.kind, m.programme
            );
        }
    }
}

impl Report for ScreeningEval {
    fn print_table(&self) {
        println!(
            "{}: {} entries, {} names with aliases, read and indexed in {:.2} s; threshold {}, seed {}, {} entries sampled",
            self.list, self.entries, self.names, self.load_seconds, self.threshold, self.seed, self.sampled_entries
        );
        println!();
        println!("| written as | screened | found | recall | best hit | example |");
        println!("|---|---:|---:|---:|---:|---|");
        for v in &self.by_variant {
            println!(
                "| {} | {} | {} | {:.1}% | {} | {} |",
                v.variant,
                v.screened,
                v.found,
                v.recall * 100.0,
                v.top_hit,
                v.example
            );
        }
        println!();
        println!(
            "ordinary names with a hit: {} of {} ({:.2}%){}",
            self.ordinary_with_a_hit,
            self.ordinary_names,
            self.ordinary_hit_rate * 100.0,
            self.example_ordinary_hit
                .as_ref()
                .map(|e| format!(", e.g. {e}"))
                .unwrap_or_default()
        );
        println!(
            "{} names screened: {:.0} a second on one core, p50 {:.0} us, p99 {:.0} us",
            self.screens, self.screens_per_second, self.latency_p50_us, self.latency_p99_us
        );
    }
}

#[derive(clap::Args)]
pub struct AddRuleArgs {
    /// The rule's name: 1 to 64 lowercase letters, digits, `-` or `_`.
    rule_id: String,
    /// The rule, e.g. "count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000".
    #[arg(long)]
    rule: String,
    /// What it looks for, in words: every alert it raises says this.
    #[arg(long)]
    description: String,
    /// shadow (hits recorded, nothing alerted) or live (alerts, and weighs in decisions).
    #[arg(long, default_value = "shadow")]
    mode: String,
    /// 0..=1: how much a hit weighs in a payment decision.
    #[arg(long, default_value_t = rules::DEFAULT_SEVERITY)]
    severity: f64,
    /// After a hit, quiet for the customer this many minutes.
    #[arg(long, default_value_t = rules::DEFAULT_COOLDOWN_MINUTES)]
    cooldown_minutes: u32,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Report for MonitoringRuleView {
    fn print_table(&self) {
        println!(
            "{} version {} ({}, severity {:.2}, cooldown {} min): {}",
            self.rule_id,
            self.version,
            self.mode,
            self.severity,
            self.cooldown_minutes,
            self.canonical
        );
    }
}

/// A use case's refusal as command-line errors, each field named as its flag (a rule's with
/// its line and column).
fn refusal(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Invalid(problems) => anyhow::anyhow!(problems
            .iter()
            .map(|p| {
                let flag = match p.field.as_deref() {
                    Some("source") => "rule",
                    Some("cooldown_minutes") => "cooldown-minutes",
                    Some("rule_id") => "RULE_ID",
                    Some("alert_rate") => "alert-rate",
                    Some("labels") => "truth",
                    Some(other) => other,
                    None => "input",
                };
                let dashes = if flag == "RULE_ID" { "" } else { "--" };
                format!("{dashes}{flag}: {}", p.message)
            })
            .collect::<Vec<_>>()
            .join("\n")),
        other => other.into(),
    }
}

#[derive(clap::Args)]
pub struct StoreArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct BacktestArgs {
    /// The rule, in the rule language, e.g. "count(payments, 1h) > 10".
    #[arg(long)]
    rule: String,
    /// After a hit, quiet for the customer this many minutes.
    #[arg(long, default_value_t = rules::DEFAULT_COOLDOWN_MINUTES)]
    cooldown_minutes: u32,
    /// Count hits on payments at or after this time (RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Count hits on payments before this time (RFC 3339).
    #[arg(long)]
    to: Option<String>,
    /// Measure precision and recall against a generated population's ground truth (its
    /// `ground_truth.jsonl`: customers with a planted scheme are positive, the rest negative)
    /// rather than against closed cases.
    #[arg(long)]
    truth: Option<PathBuf>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Deserialize)]
struct TruthLine {
    customer_id: String,
    #[serde(default)]
    fraud_scheme: Option<String>,
    #[serde(default)]
    fraud_event_ids: Vec<String>,
}

/// A ground-truth file's lines, with their numbers; an error names the line and column.
fn read_truth(path: &std::path::Path) -> anyhow::Result<Vec<(usize, TruthLine)>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map(|t| (i + 1, t)).map_err(|e| {
                anyhow::anyhow!(
                    "{}: line {}, column {}: {e}",
                    path.display(),
                    i + 1,
                    e.column()
                )
            })
        })
        .collect()
}

/// Payment labels from a ground-truth file: its planted payments are positive.
pub fn truth_payment_labels(path: &std::path::Path) -> anyhow::Result<PaymentLabels> {
    Ok(PaymentLabels {
        source: format!("ground truth {}", path.display()),
        positive: read_truth(path)?
            .into_iter()
            .flat_map(|(_, t)| t.fraud_event_ids)
            .collect(),
    })
}

/// Labels from a ground-truth file, every line's customer labelled; an error names the line.
fn truth_labels(path: &std::path::Path) -> anyhow::Result<rules::Labels> {
    let mut by_customer = std::collections::HashMap::new();
    let mut kinds = std::collections::HashMap::new();
    for (line, t) in read_truth(path)? {
        let id = sextant_domain::CustomerId::parse(&t.customer_id)
            .map_err(|e| anyhow::anyhow!("{}: line {line}: customer_id: {e}", path.display()))?;
        by_customer.insert(id.clone(), t.fraud_scheme.is_some());
        if let Some(scheme) = t.fraud_scheme {
            kinds.insert(id, scheme);
        }
    }
    Ok(rules::Labels {
        source: format!("ground truth {}", path.display()),
        by_customer,
        kinds,
    })
}

#[derive(clap::Args)]
pub struct EvalPopulationArgs {
    #[arg(long, default_value_t = 5_000)]
    customers: u64,
    #[arg(long, default_value_t = 12)]
    months: u32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The share of payments the fixed-rate reading may alert.
    #[arg(long, default_value_t = 0.01)]
    alert_rate: f64,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ScanArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Report for ScanReport {
    fn print_table(&self) {
        println!(
            "{} customers, {} payments over {:.0} days, replayed in {:.1} s",
            self.customers, self.payments, self.days, self.seconds
        );
        println!();
        println!("| typology | alerts | customers | per 1,000 customers a day | example reason |");
        println!("|---|---:|---:|---:|---|");
        for t in &self.by_typology {
            println!(
                "| {} | {} | {} | {:.3} | {} |",
                t.typology,
                t.alerts,
                t.customers,
                t.alerts_per_1000_customers_per_day,
                t.example.as_deref().unwrap_or("-")
            );
        }
        println!(
            "| any | {} | {} | {:.3} | |",
            self.payments_alerted, self.customers_alerted, self.alerts_per_1000_customers_per_day
        );
    }
}

impl Report for MonitoringRulesView {
    fn print_table(&self) {
        if self.rules.is_empty() {
            println!("no rules yet: add one with POST /v1/monitoring/rules/{{rule_id}}/versions or in the console");
            return;
        }
        println!(
            "| rule | version | mode | severity | cooldown min | hits | customers | rule text |"
        );
        println!("|---|---:|---|---:|---:|---:|---:|---|");
        for r in &self.rules {
            println!(
                "| {} | {} | {} | {:.2} | {} | {} | {} | {} |",
                r.rule_id,
                r.version,
                r.mode,
                r.severity,
                r.cooldown_minutes,
                r.hits,
                r.customers_hit,
                r.canonical
            );
        }
    }
}

impl Report for BacktestView {
    fn print_table(&self) {
        let percent = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{:.1}%", 100.0 * x));
        println!("{}", self.rule);
        println!(
            "{} customers, {} payments over {:.0} days, replayed in {:.1} s (cooldown {} min)",
            self.customers, self.payments, self.days, self.seconds, self.cooldown_minutes
        );
        println!();
        println!("labels: {}", self.labels);
        println!("| alerts | customers alerted | per 1,000 customers a day | labelled positive | labelled negative | precision | recall |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {} | {} | {:.3} | {} | {} | {} | {} |",
            self.alerts,
            self.customers_alerted,
            self.alerts_per_1000_customers_per_day,
            self.labelled_positive,
            self.labelled_negative,
            percent(self.precision),
            percent(self.recall)
        );
        if !self.recall_by_kind.is_empty() {
            println!();
            println!("| planted scheme | customers | alerted | recall |");
            println!("|---|---:|---:|---:|");
            for k in &self.recall_by_kind {
                println!(
                    "| {} | {} | {} | {:.1}% |",
                    k.kind,
                    k.customers,
                    k.alerted,
                    k.recall * 100.0
                );
            }
        }
        if !self.examples.is_empty() {
            println!();
            println!("| customer | payment | at | reason |");
            println!("|---|---|---|---|");
            for e in &self.examples {
                println!(
                    "| {} | {} | {} | {} |",
                    e.customer_id, e.event_id, e.occurred_at, e.reason
                );
            }
        }
    }
}

impl Report for FileEval {
    fn print_table(&self) {
        println!(
            "{}: {} transactions of {} customers, {} positive; train {} (earliest 70% by time), test {} ({} positive)",
            self.data, self.rows, self.customers, self.positives, self.train_rows, self.test_rows, self.test_positives
        );
        println!(
            "alerting 1% of the test period's transactions is {:.2} alerts per 1,000 customers a day",
            self.alerts_per_1000_customers_per_day_at_1_percent
        );
        println!();
        println!("| model | features | trees | ROC-AUC | PR-AUC | recall at 1% alerted | recall at 0.1% alerted | fit s |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for m in &self.models {
            println!(
                "| {} | {} | {} | {:.4} | {:.4} | {:.1}% | {:.1}% | {:.1} |",
                m.model,
                m.features,
                m.trees,
                m.roc_auc,
                m.pr_auc,
                m.recall_at_1_percent_alerted * 100.0,
                m.recall_at_0_1_percent_alerted * 100.0,
                m.fit_seconds
            );
        }
    }
}

impl Report for PopulationEval {
    fn print_table(&self) {
        println!(
            "{} customers x {} months (seed {}): {} payments over {:.0} days, {} planted episodes; {:.1} s",
            self.customers, self.months, self.seed, self.payments, self.days, self.episodes, self.seconds
        );
        let m = &self.model;
        println!(
            "model: trained on {} other customers (seed {}, {} payments, {} planted); on its own latest 30%: ROC-AUC {:.4}, PR-AUC {:.4}, {} trees",
            m.customers, self.model_training_seed, m.payments, m.positive_payments, m.roc_auc, m.pr_auc, m.trees
        );
        println!(
            "live (as filed by the detectors, cooldowns applied): {:.2} alerts per 1,000 customers a day",
            self.alerts_per_1000_customers_per_day_live
        );
        let threshold = if self.score_threshold <= f64::from(f32::MIN_POSITIVE) {
            "any detector firing (fewer payments fire than the rate allows)".to_owned()
        } else {
            format!("policy score >= {:.3}", self.score_threshold)
        };
        println!(
            "at {:.2}% of payments alerted: detectors' policy ({threshold}) alerts {:.3}% of payments, precision {:.1}%; model (probability >= {:.4}) alerts {:.3}%, precision {:.1}%",
            self.alert_rate * 100.0,
            self.payments_alerted_share * 100.0,
            self.precision_at_rate * 100.0,
            self.score_threshold_model,
            self.payments_alerted_share_model * 100.0,
            self.precision_at_rate_model * 100.0
        );
        println!();
        println!("| scheme | episodes | recall live | recall at rate, detectors | recall at rate, model | planted payments | caught at rate, detectors | caught at rate, model |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.by_scheme {
            println!(
                "| {} | {} | {:.1}% ({}) | {:.1}% ({}) | {:.1}% ({}) | {} | {} | {} |",
                r.scheme,
                r.episodes,
                r.recall_live * 100.0,
                r.caught_live,
                r.recall_at_rate * 100.0,
                r.caught_at_rate,
                r.recall_at_rate_model * 100.0,
                r.caught_at_rate_model,
                r.planted_payments,
                r.planted_payments_alerted_at_rate,
                r.planted_payments_alerted_at_rate_model
            );
        }
        println!();
        println!("| persona | customers | clean | false positives live | alerts/1,000/day live | false positives at rate, detectors | false positives at rate, model |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for p in &self.by_persona {
            println!(
                "| {} | {} | {} | {:.2}% ({}) | {:.2} | {:.2}% ({}) | {:.2}% ({}) |",
                p.persona,
                p.customers,
                p.clean_customers,
                p.false_positive_rate_live * 100.0,
                p.clean_alerted_live,
                p.alerts_per_1000_customers_per_day_live,
                p.false_positive_rate_at_rate * 100.0,
                p.clean_alerted_at_rate,
                p.false_positive_rate_at_rate_model * 100.0,
                p.clean_alerted_at_rate_model
            );
        }
    }
}

pub async fn run(command: MonitoringCommand, mut config: Config) -> anyhow::Result<i32> {
    let args = match command {
        MonitoringCommand::Scan(args) => args,
        MonitoringCommand::Screen(args) => {
            let text = std::fs::read_to_string(&args.list)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.list.display()))?;
            let list = sextant_monitoring::screening::Watchlist::from_sdn_csv(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", args.list.display()))?;
            let report = ScreenReport {
                matches: list.screen(&args.name, args.threshold),
                name: args.name,
                list: args.list.display().to_string(),
                threshold: args.threshold,
            };
            emit(&report, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::EvalScreening(args) => {
            eprintln!(
                "reading {} and screening its names written other ways",
                args.list.display()
            );
            let report = screening_eval::eval(&args.list, args.sample, args.threshold, args.seed)?;
            emit(&report, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::AddRule(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let ctx = open_context(&config).await?;
            let draft = rules::RuleDraft {
                source: args.rule,
                description: args.description,
                mode: args.mode,
                severity: args.severity,
                cooldown_minutes: args.cooldown_minutes,
            };
            let added = rules::add_version(&ctx, None, &args.rule_id, &draft, &Actor::operator())
                .await
                .map_err(refusal)?;
            emit(&added, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::Rules(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let store = open_store_with(&config, None).await?;
            emit(&rules::rules(store.as_ref()).await?, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::Backtest(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let store = open_store(&config).await?;
            let request = BacktestRequest {
                source: args.rule,
                cooldown_minutes: args.cooldown_minutes,
                from: args.from,
                to: args.to,
                customers: None,
            };
            let labels = args.truth.as_deref().map(truth_labels).transpose()?;
            let report = rules::backtest(
                store.as_ref(),
                &request,
                labels,
                &Actor::operator(),
                |done| {
                    eprintln!("replayed {done} customers");
                },
            )
            .await
            .map_err(refusal)?;
            emit(&report, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::Train(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let store = open_store(&config).await?;
            let labels = match args.truth.as_deref() {
                Some(path) => truth_payment_labels(path)?,
                None => model::case_labels(store.as_ref()).await?,
            };
            let options = TrainOptions {
                customers: args.customers,
                alert_rate: args.alert_rate,
                seed: args.seed,
                activate: !args.no_activate,
            };
            let trained = train_with_progress(store.as_ref(), &labels, &options).await?;
            emit(&trained, args.json)?;
            if trained.active {
                eprintln!("a running server puts it in force when it restarts");
            }
            return Ok(0);
        }
        MonitoringCommand::Eval(args) => {
            eprintln!(
                "reading {} and replaying it in time order",
                args.data.display()
            );
            let report = eval_file(&args)?;
            emit(&report, args.json)?;
            return Ok(0);
        }
        MonitoringCommand::EvalPopulation(args) => {
            let report = eval_population(
                args.customers,
                args.months,
                args.seed,
                args.alert_rate,
                |done| eprintln!("generated and scored {done} customers"),
            )?;
            emit(&report, args.json)?;
            return Ok(0);
        }
    };
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    // Read only: no audit signer is needed.
    let store = open_store_with(&config, None).await?;
    let report = scan(store.as_ref(), &Params::default(), |done| {
        eprintln!("scanned {done} customers");
    })
    .await?;
    emit(&report, args.json)?;
    Ok(0)
}

/// Trains the monitoring model, with the customers read on stderr.
pub async fn train_with_progress(
    store: &dyn sextant_store::Store,
    labels: &PaymentLabels,
    options: &TrainOptions,
) -> anyhow::Result<TrainedModelView> {
    let mut shown = 0u64;
    model::train(store, labels, options, &Actor::operator(), |read, total| {
        if read == total || read >= shown + 1_000 {
            shown = read;
            eprintln!("read {read} of {total} customers' payments");
        }
    })
    .await
    .map_err(refusal)
}
