//! The launch of a campaign: the audience evaluated now, customers left out (no consent on
//! the channel, unsuitable, already holding, not eligible, at the frequency cap, beyond the
//! send cap or budget), every other one placed in treatment or holdout by a sticky hash, all
//! written once with the Idempotency-Key's record.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sextant_advisor::suitability;
use sextant_domain::{CustomerId, RiskTolerance};
use sextant_marketing::holdout::{self, Arm};
use sextant_marketing::propensity::CustomerSignals;
use sextant_store::{
    Actor, CampaignLaunch, CampaignMember, Idempotent, MarketingRow, StoredCampaign,
};
use utoipa::ToSchema;

use super::{named_audience, CampaignSpec, Checked};
use crate::idempotency::{request_hash, settle, Answer, Keyed, CREATED};
use crate::marketing::audiences::{select, CustomerRow, Definition};
use crate::marketing::offers::{CatalogueEntry, OfferEngine};
use crate::marketing::status::{CampaignStatus, Move};
use crate::records::format_timestamp;
use crate::{Context, Result, ServiceError};

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
    ctx: &Context,
    campaign: &StoredCampaign,
    spec: &CampaignSpec,
    engine: &OfferEngine,
    now: DateTime<Utc>,
) -> Result<(Vec<CampaignMember>, LaunchSummary)> {
    let started = std::time::Instant::now();
    let checked = spec.check()?;
    let audience = named_audience(ctx, spec).await?;
    let definition = Definition::from_stored(&audience)?;
    let entry = offered_entry(engine, &spec.product_id)?;
    let product = &entry.version.product;
    let window = Duration::days(i64::from(spec.frequency_cap.window_days));
    let contacts = ctx.store.contact_counts(now - window).await?;
    let slot = engine.slot(product.id.as_str());
    let mut excluded = Exclusions::default();
    let mut eligible: Vec<(String, f64)> = Vec::new();
    let mut audience_size = 0u64;
    select(
        ctx.store.as_ref(),
        ctx.vectors.as_ref(),
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
    let members = assign_arms(&campaign.id, eligible, &checked, &mut excluded)?;
    let treatment = members
        .iter()
        .filter(|m| m.arm == Arm::Treatment.name())
        .count() as u64;
    let summary = LaunchSummary {
        campaign_id: campaign.id.clone(),
        status: Move::Launch.to().as_str().into(),
        launched_at: format_timestamp(now),
        audience_id: audience.id.clone(),
        audience_version: audience.version,
        catalogue_version: entry.version.version,
        model_version: engine.model.version().to_owned(),
        audience_size,
        excluded,
        treatment,
        holdout: members.len() as u64 - treatment,
        holdout_share: f64::from(checked.holdout_bp) / 10_000.0,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    };
    Ok((members, summary))
}

/// The catalogue entry a campaign offers: it must exist and still be offered.
fn offered_entry<'a>(engine: &'a OfferEngine, product_id: &str) -> Result<&'a CatalogueEntry> {
    let entry = engine
        .catalogue
        .iter()
        .find(|e| e.version.product.id.as_str() == product_id)
        .ok_or_else(|| {
            ServiceError::invalid(
                "product_id",
                "unknown_product",
                "no product of the catalogue has this id",
            )
        })?;
    if !entry.version.active {
        return Err(ServiceError::conflict(
            "product_retired",
            "product_id",
            "the product is retired and cannot be offered",
        ));
    }
    Ok(entry)
}

/// Places the eligible customers (id, score) in treatment or holdout by the sticky hash.
/// A send cap limits contacts: the audience is cut (lowest scores first) before
/// assignment, so both arms come from the same customers and the holdout stays comparable,
/// and the treatment arm is trimmed afterwards where the rounding overshot.
fn assign_arms(
    campaign_id: &str,
    mut eligible: Vec<(String, f64)>,
    checked: &Checked,
    excluded: &mut Exclusions,
) -> Result<Vec<CampaignMember>> {
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
    let mut treatment = 0u64;
    for (customer, score) in eligible {
        let arm = holdout::assign(campaign_id, &customer, checked.holdout_bp);
        treatment += u64::from(arm == Arm::Treatment);
        members.push(CampaignMember {
            customer_id: CustomerId::parse(&customer).map_err(|e| {
                ServiceError::internal(format!("stored customer id: {}", e.message))
            })?,
            arm: arm.name().to_owned(),
            score,
        });
    }
    if let Some(cap) = checked.contact_cap {
        while treatment > cap {
            let i = members
                .iter()
                .rposition(|m| m.arm == Arm::Treatment.name())
                .expect("treatment > 0");
            members.remove(i);
            treatment -= 1;
            excluded.over_cap += 1;
        }
    }
    Ok(members)
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

fn not_draft() -> ServiceError {
    ServiceError::conflict(
        "campaign_not_draft",
        "id",
        "only a draft campaign can be launched; this one was launched already",
    )
}

/// Launches a draft campaign under an Idempotency-Key: the launch summary (created), or the
/// answer given the first time the key was used. The same key with another campaign is
/// refused; so is a second launch under another key.
pub async fn launch(ctx: &Context, keyed: &Keyed, by: &Actor, id: &str) -> Result<Answer> {
    if let Some(earlier) = keyed.earlier(ctx.store.as_ref()).await? {
        return Ok(earlier);
    }
    let campaign = ctx
        .store
        .campaign(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let launchable = CampaignStatus::parse(&campaign.status)
        .and_then(|s| Move::Launch.apply(s))
        .is_some();
    if !launchable {
        // A concurrent request under this key may have launched it since the check above:
        // its answer is this request's answer too.
        return match keyed.earlier(ctx.store.as_ref()).await? {
            Some(earlier) => Ok(earlier),
            None => Err(not_draft()),
        };
    }
    let spec: CampaignSpec = serde_json::from_value(campaign.spec.clone())
        .map_err(|e| ServiceError::internal(format!("stored campaign {id}: {e}")))?;
    let engine = ctx.offers().await?;
    let now = Utc::now();
    let (members, summary) = plan_launch(ctx, &campaign, &spec, &engine, now).await?;
    let answer = Answer {
        status: CREATED,
        body: serde_json::to_value(&summary).map_err(ServiceError::internal)?,
    };
    let outcome = ctx
        .store
        .launch_campaign(
            &CampaignLaunch {
                campaign_id: id.to_owned(),
                launched_at: now,
                summary: answer.body.clone(),
                members,
            },
            &keyed.record(&answer, now),
            by,
        )
        .await?;
    if matches!(outcome, Idempotent::AlreadyAccepted) {
        // Launched meanwhile: by a request under this key (replayed) or under another.
        if let Some(earlier) = keyed.earlier(ctx.store.as_ref()).await? {
            return Ok(earlier);
        }
    }
    settle(outcome, answer, not_draft)
}

/// The request hash of a launch: the campaign is the request (a launch has no body).
pub fn launch_request(id: &str) -> String {
    request_hash(&format!("launch {id}"), b"")
}
