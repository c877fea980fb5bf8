//! The demo's transaction monitoring: two compliance rules written before the import (one
//! live, one in shadow), what the import's live evaluation filed (alerts and cases, rule
//! hits) against the fraud and laundering the population planted, then one payment assessed
//! as the payment app would ask, recorded and replayed.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_services::monitoring::assess;
use sextant_services::monitoring::rules::{self, RuleDraft};
use sextant_services::records::{CardRecord, CounterpartyRecord, PaymentRecord, PaymentTag};
use sextant_services::Context;
use sextant_store::{Actor, CaseFilter, NewRuleVersion, PAGE_MAX};

use crate::output::Report;

#[derive(Debug, Default, Serialize)]
pub struct DemoMonitoring {
    pub alerts: u64,
    pub cases: u64,
    /// Planted schemes: (scheme, customers, customers with a case).
    pub planted: Vec<(String, u64, u64)>,
    /// Customers with a case and nothing planted (what a review team would close).
    pub clean_customers_with_a_case: u64,
    /// Rules in force: (rule, version, mode, hits, customers).
    pub rules: Vec<(String, u32, String, u64, u64)>,
    pub assessment_id: String,
    pub verdict: String,
    pub score: f64,
    /// The monitoring model's reading, in words, when a model is in force.
    pub model: Option<String>,
    pub replay_identical: bool,
    /// A transfer to a party on the sanctions list in force, assessed: (assessment, verdict,
    /// the first reason, replayed identical).
    pub listed_payee: Option<(String, String, String, bool)>,
}

#[derive(Deserialize)]
struct TruthLine {
    customer_id: String,
    #[serde(default)]
    fraud_scheme: Option<String>,
}

/// The demo's rules, as a compliance officer would write them: one live, one in shadow.
const DEMO_RULES: [(&str, &str, &str, &str, f64); 2] = [
    (
        "cash-out-day",
        "sum(amount, 24h, kind in (atm, transfer_out) and status = completed) >= 9000\n  and count(payments, 24h, kind in (atm, transfer_out)) >= 3",
        "three or more withdrawals or transfers out adding up to 9,000 or more within a day",
        "live",
        0.5,
    ),
    (
        "spread-abroad",
        "direction = out and amount >= 500 and distinct(country, 7d, direction = out) >= 3",
        "a payment of 500 or more while paying in three or more countries within a week",
        "shadow",
        0.4,
    ),
];

/// The demo's rules as stored versions (`sextant bench monitoring` imports with them too).
pub fn demo_rules() -> Vec<NewRuleVersion> {
    DEMO_RULES
        .iter()
        .map(|(id, source, description, mode, severity)| NewRuleVersion {
            rule_id: (*id).to_owned(),
            source: (*source).to_owned(),
            description: (*description).to_owned(),
            mode: (*mode).to_owned(),
            severity: *severity,
            cooldown_ms: i64::from(rules::DEFAULT_COOLDOWN_MINUTES) * 60_000,
            created_at: Utc::now(),
        })
        .collect()
}

/// Writes the demo's rules into a database that has none, before the import evaluates them.
pub async fn ensure_rules(ctx: &Context) -> anyhow::Result<()> {
    if !ctx.store.rules().await?.is_empty() {
        return Ok(());
    }
    let by = Actor::system("demo");
    for rule in demo_rules() {
        let draft = RuleDraft {
            source: rule.source,
            description: rule.description,
            mode: rule.mode,
            severity: rule.severity,
            cooldown_minutes: rules::DEFAULT_COOLDOWN_MINUTES,
        };
        rules::add_version(ctx, None, &rule.rule_id, &draft, &by).await?;
    }
    Ok(())
}

pub async fn walk(ctx: &Context, truth: &Path) -> anyhow::Result<DemoMonitoring> {
    let mut report = DemoMonitoring::default();
    let mut with_case = HashSet::new();
    let filter = CaseFilter::default();
    let mut offset = 0;
    loop {
        let (page, total) = ctx.store.cases(&filter, offset, PAGE_MAX).await?;
        offset += page.len() as u64;
        report.cases = total;
        for c in &page {
            report.alerts += c.alerts;
            with_case.insert(c.customer_id.to_string());
        }
        if page.is_empty() || offset >= total {
            break;
        }
    }
    let mut planted: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut planted_customers = HashSet::new();
    let mut first_card_tester = None;
    for line in std::fs::read_to_string(truth)?.lines() {
        let t: TruthLine = serde_json::from_str(line)?;
        if let Some(scheme) = t.fraud_scheme {
            let row = planted.entry(scheme.clone()).or_default();
            row.0 += 1;
            row.1 += u64::from(with_case.contains(&t.customer_id));
            if scheme == "card_testing" && first_card_tester.is_none() {
                first_card_tester = Some(t.customer_id.clone());
            }
            planted_customers.insert(t.customer_id);
        }
    }
    report.clean_customers_with_a_case = with_case.difference(&planted_customers).count() as u64;
    report.rules = rules::rules(ctx.store.as_ref())
        .await?
        .rules
        .into_iter()
        .filter(|r| r.mode != "retired")
        .map(|r| (r.rule_id, r.version, r.mode, r.hits, r.customers_hit))
        .collect();
    report.planted = planted.into_iter().map(|(s, (n, c))| (s, n, c)).collect();

    // One more small card payment abroad by a customer whose card was tested (or the first
    // customer), as the payment app would ask before authorising it.
    let customer = first_card_tester.unwrap_or_else(|| "c0000001".into());
    let payment = PaymentRecord {
        tag: PaymentTag::Payment,
        event_id: format!("demo-assess-{}", Utc::now().timestamp_millis()).into(),
        customer_id: customer.into(),
        occurred_at: Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
        amount_minor: 120,
        currency: "EUR".into(),
        direction: "debit".into(),
        kind: "purchase".into(),
        channel: "online".into(),
        merchant_id: Some("m5999-demo".into()),
        mcc: Some("5999".into()),
        country: "US".into(),
        card: Some(CardRecord {
            bin: "416598".into(),
            last4: "0001".into(),
        }),
        status: None,
        balance_after_minor: None,
        counterparty: None,
        device_id: None,
        refund_of: None,
    };
    let answer = assess::assess(ctx, None, &Actor::system("demo"), &payment).await?;
    let view: assess::AssessmentView = serde_json::from_value(answer.body)?;
    let replayed = assess::replay(ctx, &view.assessment_id).await?;
    report.assessment_id = view.assessment_id;
    report.verdict = view.verdict;
    report.score = view.score;
    report.model = view.model.as_ref().map(|m| {
        format!(
            "model {}: {:.2}% (reviews from {:.2}%); raised most by {}",
            m.version,
            100.0 * m.probability,
            100.0 * m.review_at,
            m.raised_by.join(", ")
        )
    });
    report.replay_identical = replayed.identical;

    // A transfer to a listed party (the population's invented list names him), as the
    // payment app would ask before sending it.
    if ctx.screening().current().is_some() {
        let transfer = PaymentRecord {
            tag: PaymentTag::Payment,
            event_id: format!("demo-listed-{}", Utc::now().timestamp_millis()).into(),
            customer_id: "c0000002".into(),
            occurred_at: Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into(),
            amount_minor: 25_000,
            currency: "EUR".into(),
            direction: "debit".into(),
            kind: "transfer_out".into(),
            channel: "p2p".into(),
            merchant_id: None,
            mcc: None,
            country: "CZ".into(),
            card: None,
            status: None,
            balance_after_minor: None,
            counterparty: Some(CounterpartyRecord {
                name: Some("Viktor Dravenko".into()),
                account: Some("CZ6508000000192000145399".into()),
            }),
            device_id: None,
            refund_of: None,
        };
        let answer = assess::assess(ctx, None, &Actor::system("demo"), &transfer).await?;
        let view: assess::AssessmentView = serde_json::from_value(answer.body)?;
        let replayed = assess::replay(ctx, &view.assessment_id).await?;
        report.listed_payee = Some((
            view.assessment_id,
            view.verdict,
            view.reasons.first().cloned().unwrap_or_default(),
            replayed.identical,
        ));
    }
    Ok(report)
}

impl Report for DemoMonitoring {
    fn print_table(&self) {
        println!(
            "  {} alerts filed into {} cases as the payments were imported",
            self.alerts, self.cases
        );
        let planted: Vec<String> = self
            .planted
            .iter()
            .map(|(s, n, c)| format!("{s} {c}/{n}"))
            .collect();
        println!(
            "  planted (ground truth), customers with a case: {}; customers with a case and nothing planted: {}",
            planted.join(", "),
            self.clean_customers_with_a_case
        );
        for (rule, version, mode, hits, customers) in &self.rules {
            println!(
                "  rule {rule} v{version} ({mode}): {hits} hits on {customers} customers (`sextant monitoring rules`, `/console/rules`)"
            );
        }
        println!(
            "  payment assessment {}: {} (score {:.3}); `GET /v1/payments/assessments/{}/replay`: {}",
            self.assessment_id,
            self.verdict,
            self.score,
            self.assessment_id,
            if self.replay_identical { "identical" } else { "DIFFERENT" }
        );
        if let Some(model) = &self.model {
            println!("    {model}");
        }
        if let Some((id, verdict, reason, identical)) = &self.listed_payee {
            println!(
                "  a transfer to Viktor Dravenko assessed ({id}): {verdict}, {reason}; replay: {}",
                if *identical { "identical" } else { "DIFFERENT" }
            );
        }
    }
}
