//! Compliance's monitoring rules: versions written in the rule language with windowed
//! aggregates, each `shadow` (measured, nothing alerted) or `live` (alerts, and weighs in
//! payment decisions); and backtests, which replay every stored payment through a rule and
//! count the alerts it would have raised, with precision and recall against the
//! dispositions of closed cases.
//!
//! A backtest runs the very code live monitoring runs ([`RuleSet::evaluate`], cooldowns
//! included) over each customer's payments in time order, so on a history that was
//! ingested with the rule in force it counts exactly the hits monitoring recorded.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::CustomerId;
use sextant_monitoring::rules::{self as monitoring_rules, Mode, MonitoringRule, RuleSet};
use sextant_store::{Actor, Idempotent, NewRuleVersion, Store, StoredRule};
use utoipa::ToSchema;

use crate::idempotency::{settle, Answer, Keyed};
use crate::marketing::audiences::rule_problem;
use crate::records::{format_timestamp, parse_timestamp};
use crate::{Context, ItemProblem, Result, ServiceError};

/// The longest description, in characters.
pub const DESCRIPTION_MAX: usize = 500;

/// The longest cooldown, in minutes (30 days).
pub const COOLDOWN_MAX_MINUTES: u32 = 43_200;

/// The cooldown a rule gets when none is given: a day.
pub const DEFAULT_COOLDOWN_MINUTES: u32 = 1_440;

/// The severity a rule gets when none is given: alone, it puts a payment up for review.
pub const DEFAULT_SEVERITY: f64 = 0.5;

/// Examples of what a backtest would have raised, at most.
pub const BACKTEST_EXAMPLES: usize = 20;

/// Customers read per page by a backtest.
const PAGE: u64 = 500;

/// Dispositions that label a customer positive (the rule should catch them).
const POSITIVE: [&str; 2] = ["fraud", "laundering_reported"];

fn default_severity() -> f64 {
    DEFAULT_SEVERITY
}

fn default_cooldown() -> u32 {
    DEFAULT_COOLDOWN_MINUTES
}

/// A new version of a rule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDraft {
    /// The rule, e.g. `count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000`.
    pub source: String,
    /// What it looks for, in words: every alert it raises says this.
    pub description: String,
    /// shadow (measured, nothing alerted) or live (alerts, and weighs in payment decisions).
    pub mode: String,
    /// 0..=1: how much a hit weighs in a payment decision (0.4 alone is a review, 0.8 a block).
    #[serde(default = "default_severity")]
    pub severity: f64,
    /// After a hit, how long the rule stays quiet for the customer, in minutes (0..=43200).
    #[serde(default = "default_cooldown")]
    pub cooldown_minutes: u32,
}

/// A version's new mode.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    /// shadow, live or retired. Making a version live retires the rule's live version.
    pub mode: String,
}

/// One version of a rule, with how often it fired on ingested payments.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonitoringRuleView {
    pub rule_id: String,
    pub version: u32,
    /// As written.
    pub source: String,
    /// In canonical form.
    pub canonical: String,
    pub description: String,
    /// shadow, live or retired.
    pub mode: String,
    pub severity: f64,
    pub cooldown_minutes: u32,
    /// role:id of who wrote it.
    pub author: String,
    pub created_at: String,
    pub changed_at: String,
    /// Payments it fired on since it was written (after cooldowns).
    pub hits: u64,
    /// Customers it fired on.
    pub customers_hit: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MonitoringRulesView {
    /// Every version of every rule, by rule and version.
    pub rules: Vec<MonitoringRuleView>,
}

/// A backtest of a rule over the stored history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// The rule to test, in the rule language.
    pub source: String,
    /// As the rule would run: after a hit, quiet for the customer this many minutes.
    #[serde(default = "default_cooldown")]
    pub cooldown_minutes: u32,
    /// Count hits on payments at or after this time (RFC 3339); the windows still read
    /// the payments before it.
    pub from: Option<String>,
    /// Count hits on payments before this time (RFC 3339).
    pub to: Option<String>,
    /// Replay at most this many customers (the first by id): over HTTP at most
    /// 20,000, the default there, so the answer comes within the request's deadline;
    /// `sextant monitoring backtest` replays everyone.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 20_000)]
    pub customers: Option<u64>,
}

/// The most customers a backtest over HTTP replays.
pub const HTTP_BACKTEST_CUSTOMERS: u64 = 20_000;

/// One hit a backtest found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BacktestHit {
    pub customer_id: String,
    pub event_id: String,
    pub occurred_at: String,
    pub reason: String,
}

/// How many positives of one kind a backtest's rule alerted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KindRecall {
    pub kind: String,
    pub customers: u64,
    pub alerted: u64,
    pub recall: f64,
}

/// What a rule would have raised on the stored history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BacktestView {
    /// The rule in canonical form.
    pub rule: String,
    pub cooldown_minutes: u32,
    /// Customers whose payments were replayed.
    pub customers: u64,
    /// Whether every stored customer was replayed; when not (the request's `customers`),
    /// precision and recall are over the customers replayed.
    pub complete: bool,
    /// Payments in the period.
    pub payments: u64,
    /// The period's length, from its first payment to its last, in days.
    pub days: f64,
    /// Alerts the rule would have raised (payments it fired on, after cooldowns).
    pub alerts: u64,
    pub customers_alerted: u64,
    pub alerts_per_1000_customers_per_day: f64,
    /// Where the labels came from: `case dispositions` (customers with a closed case:
    /// positive when closed as fraud or laundering_reported, negative when only ever closed
    /// as false_positive), or a ground-truth file (`sextant monitoring backtest --truth`).
    pub labels: String,
    pub labelled_positive: u64,
    pub labelled_negative: u64,
    /// Of the labelled customers the rule alerted, the share positive; none when it alerted
    /// no labelled customer.
    pub precision: Option<f64>,
    /// Of the positive customers, the share the rule alerted; none without positives.
    pub recall: Option<f64>,
    /// Recall for each kind of positive (a ground-truth file's planted schemes); empty for
    /// case dispositions.
    pub recall_by_kind: Vec<KindRecall>,
    /// The first alerts, in customer and time order.
    pub examples: Vec<BacktestHit>,
    pub seconds: f64,
}

fn millis(minutes: u32) -> i64 {
    i64::from(minutes) * 60_000
}

/// The rule parsed, or the refusal naming `field` with the line and column.
fn parse(
    field: &str,
    source: &str,
    mode: Mode,
    severity: f64,
    cooldown_minutes: u32,
) -> Result<MonitoringRule> {
    MonitoringRule::parse(
        "draft",
        0,
        source,
        mode,
        severity,
        millis(cooldown_minutes),
        "",
    )
    .map_err(|e| ServiceError::Invalid(vec![rule_problem(field, &e)]))
}

fn check_cooldown(minutes: u32) -> Result<()> {
    if minutes > COOLDOWN_MAX_MINUTES {
        return Err(ServiceError::invalid(
            "cooldown_minutes",
            "out_of_range",
            format!("at most {COOLDOWN_MAX_MINUTES} minutes (30 days)"),
        ));
    }
    Ok(())
}

fn check_rule_id(rule_id: &str) -> Result<()> {
    // The audience ids' format (`crate::schema::AUDIENCE_ID_PATTERN`).
    let valid = (1..=64).contains(&rule_id.len())
        && rule_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(ServiceError::invalid(
            "rule_id",
            "invalid_format",
            "1 to 64 lowercase letters, digits, `-` or `_`",
        ));
    }
    Ok(())
}

fn view(rule: &StoredRule, counts: &HashMap<(String, u32), (u64, u64)>) -> MonitoringRuleView {
    let canonical = super::live::parse_stored(rule, Mode::Shadow)
        .map(|r| r.rule.to_string())
        .unwrap_or_else(|_| rule.source.clone());
    let (hits, customers_hit) = counts
        .get(&(rule.rule_id.clone(), rule.version))
        .copied()
        .unwrap_or((0, 0));
    MonitoringRuleView {
        rule_id: rule.rule_id.clone(),
        version: rule.version,
        source: rule.source.clone(),
        canonical,
        description: rule.description.clone(),
        mode: rule.mode.clone(),
        severity: rule.severity,
        cooldown_minutes: u32::try_from(rule.cooldown_ms / 60_000).unwrap_or(u32::MAX),
        author: rule.author.clone(),
        created_at: format_timestamp(rule.created_at),
        changed_at: format_timestamp(rule.changed_at),
        hits,
        customers_hit,
    }
}

/// Every version of every rule, with its hits.
pub async fn rules(store: &dyn Store) -> Result<MonitoringRulesView> {
    let counts: HashMap<(String, u32), (u64, u64)> = store
        .rule_hit_counts()
        .await?
        .into_iter()
        .map(|c| ((c.rule_id, c.version), (c.hits, c.customers)))
        .collect();
    let rules = store.rules().await?;
    Ok(MonitoringRulesView {
        rules: rules.iter().map(|r| view(r, &counts)).collect(),
    })
}

/// One version of a rule.
pub async fn rule(ctx: &Context, rule_id: &str, version: u32) -> Result<MonitoringRuleView> {
    rules(ctx.store.as_ref())
        .await?
        .rules
        .into_iter()
        .find(|r| r.rule_id == rule_id && r.version == version)
        .ok_or(ServiceError::NotFound)
}

/// Adds a version of a rule (the first makes the rule) and puts the rules in force at once.
pub async fn add_version(
    ctx: &Context,
    keyed: Option<&Keyed>,
    rule_id: &str,
    draft: &RuleDraft,
    by: &Actor,
) -> Result<MonitoringRuleView> {
    check_rule_id(rule_id)?;
    if let Some(earlier) = match keyed {
        Some(keyed) => keyed.earlier(ctx.store.as_ref()).await?,
        None => None,
    } {
        return made_under_key(ctx, &earlier.body).await;
    }
    let mut problems: Vec<ItemProblem> = Vec::new();
    let mode = Mode::parse(&draft.mode);
    if mode.is_none() {
        problems.push(ItemProblem::field(
            "mode",
            "invalid_value",
            "shadow or live (a new version is never retired)",
        ));
    }
    if !(0.0..=1.0).contains(&draft.severity) {
        problems.push(ItemProblem::field(
            "severity",
            "out_of_range",
            "a number from 0 to 1",
        ));
    }
    let description = draft.description.trim();
    if description.is_empty() || description.chars().count() > DESCRIPTION_MAX {
        problems.push(ItemProblem::field(
            "description",
            "invalid_length",
            format!("1 to {DESCRIPTION_MAX} characters: what the rule looks for, in words"),
        ));
    }
    if draft.cooldown_minutes > COOLDOWN_MAX_MINUTES {
        problems.push(ItemProblem::field(
            "cooldown_minutes",
            "out_of_range",
            format!("at most {COOLDOWN_MAX_MINUTES} minutes (30 days)"),
        ));
    }
    if let Err(e) = MonitoringRule::parse(rule_id, 1, &draft.source, Mode::Shadow, 0.5, 0, "") {
        problems.push(rule_problem("source", &e));
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    let mode = mode.expect("checked above");
    let new = NewRuleVersion {
        rule_id: rule_id.to_owned(),
        source: draft.source.clone(),
        description: description.to_owned(),
        mode: mode.as_str().to_owned(),
        severity: draft.severity,
        cooldown_ms: millis(draft.cooldown_minutes),
        created_at: Utc::now(),
    };
    let Some(keyed) = keyed else {
        let stored = ctx.store.add_rule_version(&new, by).await?;
        put_in_force(ctx).await?;
        return rule(ctx, &stored.rule_id, stored.version).await;
    };
    // The version is known once written: the store records it as the key's answer.
    let placeholder = Answer {
        status: 201,
        body: serde_json::json!({}),
    };
    let record = keyed.record(&placeholder, new.created_at);
    let written = ctx.store.add_rule_version_once(&new, &record, by).await?;
    if !matches!(written, Idempotent::Written) {
        // Sent again under the key (or reused for another request): what the key means.
        let made = settle(written, placeholder, || {
            ServiceError::internal("a rule version is never made under another key")
        })?;
        return made_under_key(ctx, &made.body).await;
    }
    put_in_force(ctx).await?;
    let recorded = keyed
        .earlier(ctx.store.as_ref())
        .await?
        .ok_or_else(|| ServiceError::internal("a written key has its answer"))?;
    made_under_key(ctx, &recorded.body).await
}

/// The version an Idempotency-Key's recorded answer names, as it stands now.
async fn made_under_key(ctx: &Context, answer: &serde_json::Value) -> Result<MonitoringRuleView> {
    let (Some(rule_id), Some(version)) = (
        answer["rule_id"].as_str(),
        answer["version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok()),
    ) else {
        return Err(ServiceError::internal(format!(
            "the answer recorded under the key does not name a rule version: {answer}"
        )));
    };
    rule(ctx, rule_id, version).await
}

/// Reads the rules in force again, then builds the customers' states for them in the
/// background (as at server start), so that the next payments do not each read a history.
async fn put_in_force(ctx: &Context) -> Result<()> {
    let monitor = ctx.monitor();
    monitor.reload_rules(ctx.store.as_ref()).await?;
    let store = ctx.store.clone();
    tokio::spawn(async move {
        if let Err(e) = monitor.warm(store.as_ref(), |_| {}).await {
            tracing::warn!(error = %e, "monitoring states were not rebuilt after a rule change");
        }
    });
    Ok(())
}

/// Changes a version's mode and puts the rules in force at once.
pub async fn set_mode(
    ctx: &Context,
    rule_id: &str,
    version: u32,
    change: &ModeChange,
    by: &Actor,
) -> Result<MonitoringRuleView> {
    if !matches!(change.mode.as_str(), "shadow" | "live" | "retired") {
        return Err(ServiceError::invalid(
            "mode",
            "invalid_value",
            "shadow, live or retired",
        ));
    }
    ctx.store
        .set_rule_mode(rule_id, version, &change.mode, by, Utc::now())
        .await
        .map_err(|e| match e {
            sextant_store::StoreError::Conflict(message) => {
                ServiceError::conflict("rule_retired", "mode", message)
            }
            other => other.into(),
        })?
        .ok_or(ServiceError::NotFound)?;
    put_in_force(ctx).await?;
    rule(ctx, rule_id, version).await
}

fn bound(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_timestamp(t).map_err(|e| ServiceError::invalid(field, e.code, e.message)))
        .transpose()
}

/// Labels for a backtest: by customer, whether they are what the rule should catch.
pub struct Labels {
    /// Where they come from, as the report says it.
    pub source: String,
    pub by_customer: HashMap<CustomerId, bool>,
    /// For positive customers, what they are (a planted scheme), when the labels say:
    /// recall is then reported for each.
    pub kinds: HashMap<CustomerId, String>,
}

/// The labels closed cases give: positive when a customer's case was closed as fraud or
/// laundering_reported, negative when only ever as false_positive.
async fn case_labels(store: &dyn Store) -> Result<Labels> {
    let mut by_customer: HashMap<CustomerId, bool> = HashMap::new();
    for (customer, disposition) in store.case_dispositions().await? {
        let positive = POSITIVE.contains(&disposition.as_str());
        *by_customer.entry(customer).or_insert(false) |= positive;
    }
    Ok(Labels {
        source: "case dispositions".into(),
        by_customer,
        kinds: HashMap::new(),
    })
}

/// Replays every stored payment through the rule and counts what it would have raised;
/// precision and recall against `labels`, or the dispositions of closed cases when none are
/// given; `progress` gets the customers done after each page. Recorded in the audit trail:
/// it reads every customer's payments.
pub async fn backtest(
    store: &dyn Store,
    request: &BacktestRequest,
    labels: Option<Labels>,
    by: &Actor,
    mut progress: impl FnMut(u64),
) -> Result<BacktestView> {
    check_cooldown(request.cooldown_minutes)?;
    if request.customers == Some(0) {
        return Err(ServiceError::invalid(
            "customers",
            "out_of_range",
            "replay at least one customer",
        ));
    }
    let limit = request.customers.unwrap_or(u64::MAX);
    let rule = parse(
        "source",
        &request.source,
        Mode::Shadow,
        0.0,
        request.cooldown_minutes,
    )?;
    let from = bound("from", request.from.as_deref())?;
    let to = bound("to", request.to.as_deref())?;
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            return Err(ServiceError::invalid(
                "to",
                "out_of_range",
                "`to` must be after `from`",
            ));
        }
    }
    let started = std::time::Instant::now();
    let canonical = rule.rule.to_string();
    let set = RuleSet::new(vec![rule]);
    let counted = |at: DateTime<Utc>| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at < t);

    let (mut customers, mut payments, mut alerts) = (0u64, 0u64, 0u64);
    let mut alerted: HashSet<CustomerId> = HashSet::new();
    let mut examples: Vec<BacktestHit> = Vec::new();
    let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
    let mut after: Option<CustomerId> = None;
    // Who was replayed, kept only when not everyone may be (labels are read for them).
    let mut replayed: Option<HashSet<CustomerId>> = request.customers.map(|_| HashSet::new());
    let mut complete = true;
    'pages: loop {
        let page = store
            .histories(after.as_ref(), PAGE.min(limit), DateTime::<Utc>::UNIX_EPOCH)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer.id.clone());
        for history in &page {
            if customers == limit {
                complete = false;
                break 'pages;
            }
            customers += 1;
            if let Some(replayed) = &mut replayed {
                replayed.insert(history.customer.id.clone());
            }
            let mut state = set.new_state();
            let mut ordered: Vec<_> = history.payments.iter().collect();
            ordered.sort_by(|a, b| {
                (a.occurred_at, a.event_id.as_str()).cmp(&(b.occurred_at, b.event_id.as_str()))
            });
            for p in ordered {
                let hits = set.evaluate(&mut state, p);
                if !counted(p.occurred_at) {
                    continue;
                }
                payments += 1;
                let at = p.occurred_at.timestamp_millis();
                (first_ms, last_ms) = (first_ms.min(at), last_ms.max(at));
                for hit in hits {
                    alerts += 1;
                    alerted.insert(p.customer_id.clone());
                    if examples.len() < BACKTEST_EXAMPLES {
                        examples.push(BacktestHit {
                            customer_id: p.customer_id.to_string(),
                            event_id: p.event_id.to_string(),
                            occurred_at: format_timestamp(p.occurred_at),
                            reason: hit.reason,
                        });
                    }
                }
            }
        }
        progress(customers);
        if (page.len() as u64) < PAGE.min(limit) {
            break;
        }
        if customers == limit {
            // Exactly the limit read: whether anyone is left decides `complete`.
            let more = store
                .histories(after.as_ref(), 1, DateTime::<Utc>::UNIX_EPOCH)
                .await?;
            complete = more.is_empty();
            break;
        }
    }

    let mut labels = match labels {
        Some(given) => given,
        None => case_labels(store).await?,
    };
    if let (Some(replayed), false) = (&replayed, complete) {
        labels.by_customer.retain(|c, _| replayed.contains(c));
        labels.kinds.retain(|c, _| replayed.contains(c));
    }
    let positives = labels.by_customer.values().filter(|p| **p).count() as u64;
    let negatives = labels.by_customer.len() as u64 - positives;
    let (mut true_alerts, mut false_alerts) = (0u64, 0u64);
    for customer in &alerted {
        match labels.by_customer.get(customer) {
            Some(true) => true_alerts += 1,
            Some(false) => false_alerts += 1,
            None => {}
        }
    }
    let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
    let mut by_kind: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for (customer, kind) in &labels.kinds {
        let row = by_kind.entry(kind.as_str()).or_default();
        row.0 += 1;
        row.1 += u64::from(alerted.contains(customer));
    }
    let recall_by_kind = by_kind
        .into_iter()
        .map(|(kind, (customers, hit))| KindRecall {
            kind: kind.to_owned(),
            customers,
            alerted: hit,
            recall: share(hit, customers).unwrap_or(0.0),
        })
        .collect();
    let days = if last_ms > first_ms {
        (last_ms - first_ms) as f64 / 86_400_000.0
    } else {
        0.0
    };
    let per_day = if customers == 0 || days <= 0.0 {
        0.0
    } else {
        1_000.0 * alerts as f64 / customers as f64 / days
    };
    let report = BacktestView {
        rule: canonical,
        cooldown_minutes: request.cooldown_minutes,
        customers,
        complete,
        payments,
        days,
        alerts,
        customers_alerted: alerted.len() as u64,
        alerts_per_1000_customers_per_day: per_day,
        labels: labels.source,
        labelled_positive: positives,
        labelled_negative: negatives,
        precision: share(true_alerts, true_alerts + false_alerts),
        recall: share(true_alerts, positives),
        recall_by_kind,
        examples,
        seconds: started.elapsed().as_secs_f64(),
    };
    let detail = serde_json::json!({
        "rule": report.rule, "alerts": report.alerts, "customers": report.customers,
    });
    store
        .record_audit(
            &by.entry("monitoring.rule.backtest", "rules", detail),
            Utc::now(),
        )
        .await?;
    Ok(report)
}

/// The fields a monitoring rule may use, with their types, for the console's help.
pub fn fields() -> Vec<(String, &'static str)> {
    monitoring_rules::payment_fields()
        .fields()
        .map(|(name, ty)| (name.to_owned(), ty.name()))
        .collect()
}
