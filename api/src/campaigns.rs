//! Campaigns as the service runs them: the specification a marketer writes, the launch
//! (audience, consent, suitability, eligibility, frequency caps, send cap, sticky holdout)
//! and the report (reach, conversion per arm, uplift with its interval, the Qini curve).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sextant_advisor::suitability;
use sextant_domain::{MarketingChannel, RiskTolerance};
use sextant_marketing::holdout::{self, Arm};
use sextant_marketing::propensity::CustomerSignals;
use sextant_marketing::uplift::{self, ArmCounts};
use utoipa::ToSchema;

use crate::audience::{select, CustomerRow, Definition};
use crate::error::{AppError, ItemProblem};
use crate::offers::OfferEngine;
use crate::store::{
    CampaignLaunch, CampaignMember, Idempotent, IdempotentResponse, MarketingRow, StoredCampaign,
};
use crate::AppState;

/// Largest holdout share: half the audience.
pub const HOLDOUT_SHARE_MAX: f64 = 0.5;
/// Longest frequency-cap window.
pub const FREQUENCY_WINDOW_DAYS_MAX: u32 = 365;
/// Points of the Qini curve in a report.
pub const QINI_POINTS: usize = 10;

/// What a marketer asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    pub name: String,
    /// A segment or lookalike id.
    pub audience_id: String,
    /// The audience version targeted; the newest when absent (pinned at creation).
    #[serde(default)]
    pub audience_version: Option<u32>,
    pub product_id: String,
    /// `push`, `email`, `sms` or `in_app`.
    pub channel: String,
    /// RFC 3339; contacts are due from then (launch may come earlier).
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Most customers contacted (the treatment arm).
    #[serde(default)]
    pub send_cap: Option<u64>,
    /// Budget and cost per contact, minor units: the send cap is budget / cost.
    #[serde(default)]
    pub budget_minor: Option<i64>,
    #[serde(default)]
    pub cost_per_contact_minor: Option<i64>,
    /// Across all campaigns: a customer contacted this many times within the window is left
    /// out.
    pub frequency_cap: FrequencyCap,
    /// Share of the audience held out (never contacted), 0..=0.5.
    pub holdout_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub max_contacts: u32,
    pub window_days: u32,
}

/// A checked specification.
pub struct Checked {
    pub channel: MarketingChannel,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Most treatment members, from the send cap and the budget.
    pub contact_cap: Option<u64>,
    pub holdout_bp: u32,
}

fn parse_time(field: &str, text: &str, problems: &mut Vec<ItemProblem>) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            problems.push(ItemProblem::field(
                field,
                "invalid_timestamp",
                "expected an RFC 3339 timestamp such as 2026-12-01T09:00:00Z",
            ));
            None
        }
    }
}

impl CampaignSpec {
    /// Checks every field, naming each one that is wrong.
    pub fn check(&self) -> Result<Checked, AppError> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            problems.push(ItemProblem::field(
                "name",
                "out_of_range",
                "1 to 200 characters",
            ));
        }
        let channel = MarketingChannel::parse(&self.channel)
            .map_err(|e| problems.push(ItemProblem::field("channel", e.code, e.message)))
            .ok();
        let starts_at = parse_time("starts_at", &self.starts_at, &mut problems);
        let ends_at = self
            .ends_at
            .as_deref()
            .and_then(|t| parse_time("ends_at", t, &mut problems));
        if let (Some(s), Some(e)) = (starts_at, ends_at) {
            if e <= s {
                problems.push(ItemProblem::field(
                    "ends_at",
                    "out_of_range",
                    "the campaign must end after it starts",
                ));
            }
        }
        if self.send_cap == Some(0) {
            problems.push(ItemProblem::field("send_cap", "out_of_range", "at least 1"));
        }
        let budget_cap = match (self.budget_minor, self.cost_per_contact_minor) {
            (None, None) => None,
            (Some(b), Some(c)) if b > 0 && c > 0 => Some((b / c) as u64),
            (Some(_), None) => {
                problems.push(ItemProblem::field(
                    "cost_per_contact_minor",
                    "required",
                    "a budget needs the cost per contact",
                ));
                None
            }
            (None, Some(_)) => {
                problems.push(ItemProblem::field(
                    "budget_minor",
                    "required",
                    "a cost per contact needs a budget",
                ));
                None
            }
            _ => {
                problems.push(ItemProblem::field(
                    "budget_minor",
                    "out_of_range",
                    "budget and cost per contact must be positive",
                ));
                None
            }
        };
        if self.frequency_cap.max_contacts == 0 {
            problems.push(ItemProblem::field(
                "frequency_cap.max_contacts",
                "out_of_range",
                "at least 1",
            ));
        }
        if !(1..=FREQUENCY_WINDOW_DAYS_MAX).contains(&self.frequency_cap.window_days) {
            problems.push(ItemProblem::field(
                "frequency_cap.window_days",
                "out_of_range",
                format!("1 to {FREQUENCY_WINDOW_DAYS_MAX} days"),
            ));
        }
        if !(0.0..=HOLDOUT_SHARE_MAX).contains(&self.holdout_share) {
            problems.push(ItemProblem::field(
                "holdout_share",
                "out_of_range",
                format!("a share from 0 to {HOLDOUT_SHARE_MAX}"),
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let contact_cap = match (self.send_cap, budget_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Checked {
            channel: channel.expect("checked"),
            starts_at: starts_at.expect("checked"),
            ends_at,
            contact_cap,
            holdout_bp: (self.holdout_share * 10_000.0).round() as u32,
        })
    }
}

/// Why customers of the audience were left out at launch.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Exclusions {
    /// No marketing consent on the campaign's channel.
    pub no_consent: u64,
    /// The product's risk level is above the customer's tolerance (or none is assessed and
    /// the product is above R1).
    pub unsuitable: u64,
    pub already_held: u64,
    /// The product's eligibility rule does not match.
    pub ineligible: u64,
    pub frequency_cap: u64,
    /// Beyond the send cap or budget (the lowest scored go first).
    pub over_cap: u64,
}

/// What a launch did, stored with the campaign and returned to the marketer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LaunchSummary {
    pub campaign_id: String,
    pub status: String,
    pub launched_at: String,
    pub audience_id: String,
    pub audience_version: u32,
    pub catalogue_version: u32,
    pub model_version: String,
    /// Customers the audience selected.
    pub audience_size: u64,
    pub excluded: Exclusions,
    pub treatment: u64,
    pub holdout: u64,
    pub holdout_share: f64,
    pub elapsed_ms: f64,
}

/// Evaluates the audience and decides every member's arm. Nothing is written.
pub async fn plan_launch(
    state: &AppState,
    campaign: &StoredCampaign,
    spec: &CampaignSpec,
    engine: &OfferEngine,
    now: DateTime<Utc>,
) -> Result<(Vec<CampaignMember>, LaunchSummary), AppError> {
    let started = std::time::Instant::now();
    let checked = spec.check()?;
    let version = spec.audience_version;
    let audience = state
        .store
        .audience(&spec.audience_id, version)
        .await?
        .ok_or_else(|| {
            AppError::Validation(vec![ItemProblem::field(
                "audience_id",
                "unknown_audience",
                "no audience has this id and version",
            )])
        })?;
    let definition = Definition::from_stored(&audience)?;
    let entry = engine
        .catalogue
        .iter()
        .find(|e| e.version.product.id.as_str() == spec.product_id)
        .ok_or_else(|| {
            AppError::Validation(vec![ItemProblem::field(
                "product_id",
                "unknown_product",
                "no product of the catalogue has this id",
            )])
        })?;
    if !entry.version.active {
        return Err(AppError::Conflict(
            "product_retired",
            vec![ItemProblem::field(
                "product_id",
                "product_retired",
                "the product is retired and cannot be offered",
            )],
        ));
    }
    let product = entry.version.product.clone();
    let window = Duration::days(i64::from(spec.frequency_cap.window_days));
    let contacts = state.store.contact_counts(now - window).await?;
    let slot = engine.slot(product.id.as_str());
    let mut excluded = Exclusions::default();
    let mut eligible: Vec<(String, f64)> = Vec::new();
    let mut audience_size = 0u64;
    select(
        state.store.as_ref(),
        state.pipeline.vectors.as_ref(),
        &definition,
        now,
        |row: &MarketingRow, _similarity| {
            audience_size += 1;
            let tolerance = row
                .risk_level
                .and_then(|l| RiskTolerance::new(l).ok())
                .unwrap_or(RiskTolerance::LOWEST);
            if !row.customer.consents.marketing.allows(checked.channel) {
                excluded.no_consent += 1;
            } else if !suitability::allowed(tolerance, product.risk_level) {
                excluded.unsuitable += 1;
            } else if row.held.contains(&product.id) {
                excluded.already_held += 1;
            } else if entry
                .eligibility
                .as_ref()
                .is_some_and(|r| !r.matches(&CustomerRow::new(row, now)))
            {
                excluded.ineligible += 1;
            } else if contacts
                .get(row.customer.id.as_str())
                .is_some_and(|&c| c >= spec.frequency_cap.max_contacts)
            {
                excluded.frequency_cap += 1;
            } else {
                eligible.push((
                    row.customer.id.as_str().to_owned(),
                    score(engine, slot, row),
                ));
            }
        },
    )
    .await?;
    // The send cap limits contacts; the audience is cut before assignment, so both arms
    // come from the same customers and the holdout stays comparable.
    if let Some(cap) = checked.contact_cap {
        let treated_share = 1.0 - f64::from(checked.holdout_bp) / 10_000.0;
        let keep = ((cap as f64) / treated_share).ceil() as usize;
        if eligible.len() > keep {
            eligible.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            excluded.over_cap = (eligible.len() - keep) as u64;
            eligible.truncate(keep);
        }
    }
    let mut members: Vec<CampaignMember> = Vec::with_capacity(eligible.len());
    let (mut treatment, mut held_out) = (0u64, 0u64);
    for (customer, score) in eligible {
        let arm = holdout::assign(&campaign.id, &customer, checked.holdout_bp);
        match arm {
            Arm::Treatment => treatment += 1,
            Arm::Holdout => held_out += 1,
        }
        members.push(CampaignMember {
            customer_id: sextant_domain::CustomerId::parse(&customer)
                .map_err(|e| AppError::Internal(format!("stored customer id: {}", e.message)))?,
            arm: arm.name().to_owned(),
            score,
        });
    }
    // A send cap is on contacts: trim the treatment arm if the rounding overshot.
    if let Some(cap) = checked.contact_cap {
        while treatment > cap {
            let i = members
                .iter()
                .rposition(|m| m.arm == "treatment")
                .expect("treatment > 0");
            members.remove(i);
            treatment -= 1;
            excluded.over_cap += 1;
        }
    }
    let summary = LaunchSummary {
        campaign_id: campaign.id.clone(),
        status: "running".into(),
        launched_at: crate::wire::format_timestamp(now),
        audience_id: audience.id.clone(),
        audience_version: audience.version,
        catalogue_version: entry.version.version,
        model_version: engine.model.version().to_owned(),
        audience_size,
        excluded,
        treatment,
        holdout: held_out,
        holdout_share: f64::from(checked.holdout_bp) / 10_000.0,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    };
    Ok((members, summary))
}

/// The model's probability for the campaign's product from the profile alone (neighbours
/// and behaviour are request-time signals); orders the send cap and the Qini curve.
fn score(engine: &OfferEngine, slot: Option<usize>, row: &MarketingRow) -> f64 {
    let Some(slot) = slot else { return 0.0 };
    let profile = row
        .profile
        .as_ref()
        .filter(|p| p.feature_version == sextant_profiling::FEATURE_VERSION);
    let features = profile.map(|p| engine.features(&p.features));
    let signals = CustomerSignals {
        features: features.as_deref(),
        segment: profile.and_then(|p| p.segment),
        neighbour_share: &[],
        interactions: &[],
    };
    engine
        .model
        .score(&signals)
        .get(slot)
        .map_or(0.0, |s| s.probability)
}

/// Launches a draft campaign under an Idempotency-Key and returns the status and body to
/// answer with: the launch summary (201), or the answer given the first time the key was
/// used. The same key with another campaign is refused; so is a second launch under
/// another key.
pub async fn launch(
    state: &AppState,
    caller_key: &str,
    actor: &str,
    id: &str,
    key: &str,
) -> Result<(u16, serde_json::Value), AppError> {
    let hash = crate::routes::credit::request_hash(&format!("launch {id}"), b"");
    if let Some(earlier) = state.store.idempotent_response(caller_key, key).await? {
        return replayed(if earlier.request_hash == hash {
            Idempotent::Replay(earlier)
        } else {
            Idempotent::KeyReused
        });
    }
    let campaign = state.store.campaign(id).await?.ok_or(AppError::NotFound)?;
    if campaign.status != "draft" {
        return replayed(Idempotent::AlreadyAccepted);
    }
    let spec: CampaignSpec = serde_json::from_value(campaign.spec.clone())
        .map_err(|e| AppError::Internal(format!("stored campaign {id}: {e}")))?;
    let engine = state.offers().await?;
    let now = Utc::now();
    let (members, summary) = plan_launch(state, &campaign, &spec, &engine, now).await?;
    let response = serde_json::to_value(&summary).map_err(|e| AppError::Internal(e.to_string()))?;
    let outcome = state
        .store
        .launch_campaign(
            &CampaignLaunch {
                campaign_id: id.to_owned(),
                launched_at: now,
                actor: actor.to_owned(),
                summary: response.clone(),
                members,
            },
            &IdempotentResponse {
                caller: caller_key.to_owned(),
                key: key.to_owned(),
                request_hash: hash,
                status: 201,
                response: response.clone(),
                created_at: now,
            },
        )
        .await?;
    match outcome {
        Idempotent::Written => Ok((201, response)),
        other => replayed(other),
    }
}

fn replayed(outcome: Idempotent) -> Result<(u16, serde_json::Value), AppError> {
    match outcome {
        Idempotent::Replay(earlier) => Ok((earlier.status, earlier.response)),
        Idempotent::KeyReused => Err(AppError::Validation(vec![ItemProblem::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used for a different request",
        )])),
        Idempotent::AlreadyAccepted => Err(AppError::Conflict(
            "campaign_not_draft",
            vec![ItemProblem::field(
                "id",
                "campaign_not_draft",
                "only a draft campaign can be launched; this one was launched already",
            )],
        )),
        Idempotent::Written => Err(AppError::Internal("a written request is no replay".into())),
    }
}

/// Counts per arm in a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmReport {
    pub customers: u64,
    /// Customers with a `sent` or `delivered` event.
    pub reached: u64,
    pub conversions: u64,
    pub conversion_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpliftView {
    /// Treatment conversion rate minus holdout conversion rate.
    pub absolute: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub confidence: f64,
    pub method: String,
    pub relative: Option<f64>,
    pub p_value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QiniPointView {
    pub targeted_fraction: f64,
    pub treated: u64,
    pub holdout: u64,
    pub incremental_conversions: f64,
    pub random_incremental: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignReport {
    pub campaign_id: String,
    pub status: String,
    pub treatment: ArmReport,
    pub holdout: ArmReport,
    /// Absent until both arms have customers.
    pub uplift: Option<UpliftView>,
    /// Members ordered by their launch score; incremental conversions of the top fraction.
    pub qini: Vec<QiniPointView>,
    pub qini_coefficient: Option<f64>,
}

/// Reach, conversion, uplift and the Qini curve of a campaign.
pub async fn report(
    state: &AppState,
    campaign: &StoredCampaign,
) -> Result<CampaignReport, AppError> {
    let outcomes = state.store.campaign_outcomes(&campaign.id).await?;
    let mut arms: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    let mut scored = Vec::with_capacity(outcomes.len());
    for o in &outcomes {
        let e = arms.entry(o.arm.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(o.reached);
        e.2 += u64::from(o.converted);
        if let Some(arm) = Arm::parse(&o.arm) {
            scored.push((o.score, arm, o.converted));
        }
    }
    let arm = |name: &str| {
        let (customers, reached, conversions) = arms.get(name).copied().unwrap_or_default();
        ArmReport {
            customers,
            reached,
            conversions,
            conversion_rate: (customers > 0).then(|| conversions as f64 / customers as f64),
        }
    };
    let treatment = arm("treatment");
    let holdout = arm("holdout");
    let uplift = uplift::uplift(
        ArmCounts {
            customers: treatment.customers,
            conversions: treatment.conversions,
        },
        ArmCounts {
            customers: holdout.customers,
            conversions: holdout.conversions,
        },
        0.95,
    )
    .map(|u| UpliftView {
        absolute: u.absolute,
        ci_low: u.ci_low,
        ci_high: u.ci_high,
        confidence: u.confidence,
        method: u.method.to_owned(),
        relative: u.relative,
        p_value: u.p_value,
    });
    let (qini, qini_coefficient) = if treatment.customers > 0 && holdout.customers > 0 {
        let curve = uplift::qini(&scored, QINI_POINTS);
        (
            curve
                .points
                .into_iter()
                .map(|p| QiniPointView {
                    targeted_fraction: p.targeted_fraction,
                    treated: p.treated,
                    holdout: p.holdout,
                    incremental_conversions: p.incremental_conversions,
                    random_incremental: p.random_incremental,
                })
                .collect(),
            Some(curve.qini_coefficient),
        )
    } else {
        (Vec::new(), None)
    };
    Ok(CampaignReport {
        campaign_id: campaign.id.clone(),
        status: campaign.status.clone(),
        treatment,
        holdout,
        uplift,
        qini,
        qini_coefficient,
    })
}
