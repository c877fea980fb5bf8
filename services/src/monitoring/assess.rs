//! `POST /v1/payments/assess`: before it authorises a payment, the payment app asks whether
//! to allow it, put it in front of an analyst (review) or block it. The customer's state as of
//! their newest stored payment is copied, the payment is added to the copy (the live state
//! changes only when the payment is stored), every detector is read, and the policy decides
//! ([`sextant_monitoring::decide`]) from the monitoring model in force, compliance's live
//! rules and (without a model) the typologies. The assessment is recorded with the payment,
//! the state, the parameters, each live rule (its source and the values its aggregates read)
//! and the model's version before it is answered, so a replay decides it again byte for
//! byte, model and rules included; a review or a block also raises alerts into the
//! customer's case.
//!
//! A payment that names its counterparty has the name screened against the sanctions list
//! in force; a match blocks it ([`Decision::screened`]). The matches and the list's SHA-256
//! are recorded with the assessment: a replay decides from the list of the day, not from
//! whatever list is loaded when it runs.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_domain::PaymentEvent;
use sextant_monitoring::features::detect_with_features;
use sextant_monitoring::rules::{Mode, MonitoringRule};
use sextant_monitoring::screening::Match;
use sextant_monitoring::{
    decide, detect, CustomerState, Decision, Params, POLICY_VERSION, REPLAYABLE_POLICIES,
};
use sextant_store::{Actor, NewAlert, NewPaymentAssessment};
use utoipa::ToSchema;

use super::model::{self, Served};
use crate::idempotency::{settle, Answer, Keyed, CREATED};
use crate::records::{format_timestamp, PaymentRecord};
use crate::screening::{match_sentence, match_view, SanctionsMatchView};
use crate::{new_id, Context, ItemProblem, Result, ServiceError};

/// One detector that fired on the payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FiredView {
    /// velocity_spike, card_testing, account_takeover, pass_through, structuring,
    /// dormant_reactivated, high_risk_jurisdiction or round_amount_transfer.
    pub typology: String,
    /// 0..=1: 0.5 at the detector's threshold, 1 at twice it or more.
    pub score: f64,
    /// In plain words, for the payment app's risk screen and the analyst.
    pub reason: String,
}

/// A live compliance rule that fired on the payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RuleFiredView {
    pub rule_id: String,
    pub version: u32,
    /// How much it weighs in the score, 0..=1.
    pub severity: f64,
    /// The rule's description, with the values its aggregates read.
    pub reason: String,
}

/// What the monitoring model in force made of the payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ModelReadingView {
    /// The model's version in the registry.
    pub version: String,
    /// Calibrated: the chance that the payment is fraud or laundering.
    pub probability: f64,
    /// The probability from which the model has a payment reviewed.
    pub review_at: f64,
    /// What raised the probability most, in plain words, most first.
    pub raised_by: Vec<String>,
}

/// The decision on a payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AssessmentView {
    /// Opaque: quote it to compliance, or replay it.
    pub assessment_id: String,
    pub customer_id: String,
    pub event_id: String,
    /// allow, review (authorise, and an analyst looks) or block.
    pub verdict: String,
    /// 0..=1: how likely the payment is fraud or laundering: the model's probability with
    /// the live rules that fired or, without a model, the detectors'.
    pub score: f64,
    /// The model's reading; absent when no model is in force (and in assessments decided
    /// before models scored, which replay byte for byte).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelReadingView>,
    /// The typologies that fired, strongest first; empty when none did.
    pub fired: Vec<FiredView>,
    /// The live compliance rules that fired, most severe first; absent when none did (so an
    /// assessment decided before rules weighed in replays byte for byte).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_fired: Vec<RuleFiredView>,
    /// The sanctions list's entries the counterparty's name matched, best first; absent
    /// when none did (any match blocks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sanctions: Vec<SanctionsMatchView>,
    /// The reasons in plain words: the sanctions matches', the model's, the typologies'
    /// (strongest first), then the rules'.
    pub reasons: Vec<String>,
    pub policy_version: String,
    /// RFC 3339.
    pub assessed_at: String,
}

/// A recorded assessment replayed from its recorded inputs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayView {
    pub assessment_id: String,
    /// Whether the replay answered byte for byte what was answered.
    pub identical: bool,
    pub recorded: AssessmentView,
    pub replayed: AssessmentView,
}

/// A live rule as an assessment read it: enough to decide whether it fires again.
#[derive(Serialize, Deserialize)]
struct RuleInput {
    rule_id: String,
    version: u32,
    severity: f64,
    description: String,
    source: String,
    /// Its aggregates' values with the payment added, in the rule's order.
    values: Vec<Option<f64>>,
}

/// What an assessment is decided from, recorded with it.
#[derive(Serialize, Deserialize)]
struct Inputs {
    payment: PaymentRecord,
    /// The customer's state before the payment.
    state: CustomerState,
    params: Params,
    /// The live rules (none under policy 1).
    #[serde(default)]
    rules: Vec<RuleInput>,
    /// The model in force (none before policy 3, or when none was active).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_version: Option<String>,
    /// The SHA-256 of the sanctions list the counterparty was screened against (none before
    /// policy 4, when the payment named no counterparty, or when no list was loaded) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sanctions_list: Option<String>,
    /// ... and what it matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sanctions: Vec<Match>,
    policy_version: String,
}

fn view(
    id: &str,
    payment: &PaymentRecord,
    decision: &Decision,
    policy_version: &str,
    assessed_at: chrono::DateTime<Utc>,
) -> AssessmentView {
    AssessmentView {
        assessment_id: id.to_owned(),
        customer_id: payment.customer_id.to_string(),
        event_id: payment.event_id.to_string(),
        verdict: decision.verdict.as_str().to_owned(),
        score: decision.score,
        model: decision.model.as_ref().map(|m| ModelReadingView {
            version: m.version.clone(),
            probability: m.probability,
            review_at: m.review_at,
            raised_by: m.reasons.clone(),
        }),
        fired: decision
            .hits
            .iter()
            .map(|h| FiredView {
                typology: h.typology.name().to_owned(),
                score: h.score,
                reason: h.reason.clone(),
            })
            .collect(),
        rules_fired: decision
            .rules
            .iter()
            .map(|r| RuleFiredView {
                rule_id: r.rule_id.clone(),
                version: r.version,
                severity: r.severity,
                reason: r.reason.clone(),
            })
            .collect(),
        sanctions: decision.sanctions.iter().map(match_view).collect(),
        reasons: decision
            .sanctions
            .iter()
            .map(match_sentence)
            .chain(decision.model.iter().map(model::sentence))
            .chain(decision.hits.iter().map(|h| h.reason.clone()))
            .chain(
                decision
                    .rules
                    .iter()
                    .map(|r| format!("rule {}: {}", r.rule_id, r.reason)),
            )
            .collect(),
        policy_version: policy_version.to_owned(),
        assessed_at: format_timestamp(assessed_at),
    }
}

/// The payment as the domain has it, every bad field named.
fn parse(payment: &PaymentRecord) -> Result<PaymentEvent> {
    payment.clone().into_domain().map_err(|errors| {
        ServiceError::Invalid(
            errors
                .into_iter()
                .map(|e| ItemProblem::field(&e.field, e.code, e.message))
                .collect(),
        )
    })
}

/// Decides `payment` from the customer's state before it, the live rules with the values
/// their aggregates read, the model in force and what the counterparty's name matched on the
/// sanctions list.
fn decide_on(
    payment: &PaymentEvent,
    mut state: CustomerState,
    params: &Params,
    rules: &[(&MonitoringRule, Vec<Option<f64>>)],
    model: Option<&Served>,
    sanctions: Vec<Match>,
) -> Decision {
    let fired = rules
        .iter()
        .filter(|(rule, values)| rule.fires(payment, values))
        .map(|(rule, values)| rule.hit(values.clone()))
        .collect();
    let decision = match model {
        Some(model) => {
            let (hits, row) = detect_with_features(&mut state, payment, params);
            decide(hits, fired, Some(model.score(&row)))
        }
        None => decide(detect(&mut state, payment, params), fired, None),
    };
    decision.screened(sanctions)
}

/// Assesses a payment before it is authorised; recorded before it is answered. With an
/// Idempotency-Key, a retry gets the first answer.
pub async fn assess(
    ctx: &Context,
    keyed: Option<&Keyed>,
    by: &Actor,
    payment: &PaymentRecord,
) -> Result<Answer> {
    if let Some(keyed) = keyed {
        if let Some(earlier) = keyed.earlier(ctx.store.as_ref()).await? {
            return Ok(earlier);
        }
    }
    let domain = parse(payment)?;
    if !ctx.store.customer_registered(&domain.customer_id).await? {
        return Err(ServiceError::invalid(
            "customer_id",
            "unknown_customer",
            "no customer is registered under this id",
        ));
    }
    let monitor = ctx.monitor();
    let in_force = monitor
        .state_of(ctx.store.as_ref(), &domain.customer_id)
        .await?;
    let (watch, rule_set, model) = (in_force.watch, in_force.rules, in_force.model);
    let params = monitor.params().clone();
    let list = monitor.screening().current();
    let name = domain.counterparty.as_ref().and_then(|c| c.name.as_ref());
    let (sanctions_list, sanctions) = match (&list, name) {
        (Some(list), Some(name)) => (
            Some(list.sha256.clone()),
            list.screen_counterparty(name.as_str()).to_vec(),
        ),
        _ => (None, Vec::new()),
    };
    let mut rule_state = watch.rules;
    let live: Vec<(&MonitoringRule, Vec<Option<f64>>)> = rule_set
        .values_after(&mut rule_state, &domain)
        .into_iter()
        .zip(rule_set.rules())
        .filter(|(_, rule)| rule.mode == Mode::Live)
        .map(|(values, rule)| (rule, values))
        .collect();
    let state = watch.state;
    let decision = decide_on(
        &domain,
        state.clone(),
        &params,
        &live,
        model.as_deref(),
        sanctions.clone(),
    );
    let id = new_id("pa");
    // To the millisecond, as stored: the replay prints the stored time.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis())
        .expect("now is in range");
    let answered = view(&id, payment, &decision, POLICY_VERSION, now);
    let output = serde_json::to_value(&answered).map_err(ServiceError::internal)?;
    let alerting = decision.verdict != sextant_monitoring::Verdict::Allow;
    let inputs = serde_json::to_string(&Inputs {
        payment: payment.clone(),
        state,
        params,
        rules: live
            .into_iter()
            .map(|(rule, values)| RuleInput {
                source: rule.rule.source().to_owned(),
                rule_id: rule.id.clone(),
                version: rule.version,
                severity: rule.severity,
                description: rule.description.clone(),
                values,
            })
            .collect(),
        model_version: model.as_ref().map(|m| m.version.clone()),
        sanctions_list,
        sanctions,
        policy_version: POLICY_VERSION.to_owned(),
    })
    .map_err(ServiceError::internal)?;
    let record = NewPaymentAssessment {
        id: id.clone(),
        customer_id: domain.customer_id.clone(),
        created_at: now,
        actor: by.id.clone(),
        policy_version: POLICY_VERSION.to_owned(),
        verdict: answered.verdict.clone(),
        score: decision.score,
        inputs,
        output: output.clone(),
    };
    let answer = Answer {
        status: CREATED,
        body: output,
    };
    let idempotency = keyed.map(|k| k.record(&answer, now));
    let written = ctx
        .store
        .record_payment_assessment(&record, idempotency.as_ref(), by)
        .await?;
    if alerting && matches!(written, sextant_store::Idempotent::Written) {
        // Filed beside the answer: the payment app waits for the decision, not the case.
        let alert = |source: String, score: f64, reason: &str| NewAlert {
            id: new_id("al"),
            customer_id: domain.customer_id.clone(),
            source,
            score,
            reason: format!("{reason} ({} on assessment {id})", answered.verdict),
            event_id: None,
            assessment_id: Some(id.clone()),
            occurred_at: domain.occurred_at,
            raised_at: now,
        };
        let alerts: Vec<NewAlert> = decision
            .sanctions
            .first()
            .map(|m| alert("sanctions".to_owned(), m.score, &match_sentence(m)))
            .into_iter()
            .chain(decision.model.iter().map(|m| {
                let reason = format!("{} (model {})", model::sentence(m), m.version);
                alert("model".to_owned(), m.probability, &reason)
            }))
            .chain(
                decision
                    .hits
                    .iter()
                    .map(|h| alert(h.typology.name().to_owned(), h.score, &h.reason)),
            )
            .chain(decision.rules.iter().map(|r| {
                let reason = format!("rule {} v{}: {}", r.rule_id, r.version, r.reason);
                alert(format!("rule:{}", r.rule_id), r.severity, &reason)
            }))
            .collect();
        let store = ctx.store.clone();
        let by = by.clone();
        tokio::spawn(async move {
            if let Err(e) = store.record_alerts(&alerts, &by).await {
                tracing::error!(error = %e, "alerts of a payment assessment were not filed");
            }
        });
    }
    settle(written, answer, || {
        ServiceError::internal("an assessment is never accepted under another key")
    })
}

/// A recorded assessment, as answered.
pub async fn assessment(ctx: &Context, id: &str) -> Result<AssessmentView> {
    let record = ctx
        .store
        .payment_assessment(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    serde_json::from_value(record.output)
        .map_err(|e| ServiceError::internal(format!("stored assessment {id}: {e}")))
}

/// Decides a recorded assessment again from its recorded inputs.
pub async fn replay(ctx: &Context, id: &str) -> Result<ReplayView> {
    let record = ctx
        .store
        .payment_assessment(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let corrupt =
        |e: serde_json::Error| ServiceError::internal(format!("stored assessment {id}: {e}"));
    let inputs: Inputs = serde_json::from_str(&record.inputs).map_err(corrupt)?;
    let recorded: AssessmentView =
        serde_json::from_value(record.output.clone()).map_err(corrupt)?;
    if !REPLAYABLE_POLICIES.contains(&inputs.policy_version.as_str()) {
        return Err(ServiceError::conflict(
            "policy_retired",
            "assessment_id",
            format!(
                "decided under {}; this release replays {}",
                inputs.policy_version,
                REPLAYABLE_POLICIES.join(" and ")
            ),
        ));
    }
    let mut rules = Vec::with_capacity(inputs.rules.len());
    for r in inputs.rules {
        let rule = MonitoringRule::parse(
            &r.rule_id,
            r.version,
            &r.source,
            Mode::Live,
            r.severity,
            0,
            &r.description,
        )
        .map_err(|e| {
            ServiceError::internal(format!("stored assessment {id}: rule {}: {e}", r.rule_id))
        })?;
        rules.push((rule, r.values));
    }
    let rules: Vec<(&MonitoringRule, Vec<Option<f64>>)> = rules
        .iter()
        .map(|(rule, values)| (rule, values.clone()))
        .collect();
    let model = match &inputs.model_version {
        None => None,
        Some(version) => {
            let stored = ctx.store.monitoring_model(version).await?.ok_or_else(|| {
                ServiceError::internal(format!(
                    "stored assessment {id}: monitoring model {version} is not in the registry"
                ))
            })?;
            Some(Served::from_stored(&stored)?)
        }
    };
    let decision = decide_on(
        &parse(&inputs.payment)?,
        inputs.state,
        &inputs.params,
        &rules,
        model.as_ref(),
        inputs.sanctions,
    );
    let replayed = view(
        id,
        &inputs.payment,
        &decision,
        &inputs.policy_version,
        record.created_at,
    );
    let again = serde_json::to_value(&replayed).map_err(ServiceError::internal)?;
    let identical = crate::idempotency::canonical_json(&again)
        == crate::idempotency::canonical_json(&record.output);
    Ok(ReplayView {
        assessment_id: id.to_owned(),
        identical,
        recorded,
        replayed,
    })
}
