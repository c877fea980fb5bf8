//! The demo's walk through marketing: every customer's offers checked against suitability,
//! consent and holdings; then a marketer's day through the same use cases the API calls: a
//! segment saved, a campaign with a holdout created and launched under an Idempotency-Key,
//! and the launch repeated to show it changes nothing.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use serde::Serialize;
use sextant_services::idempotency::{IdempotencyKey, Keyed};
use sextant_services::marketing::audiences::{
    self, for_each_row, parse_rule, preview, AudienceRequest, Definition,
};
use sextant_services::marketing::campaigns::launch::{launch, launch_request, LaunchSummary};
use sextant_services::marketing::campaigns::{self, CampaignSpec, FrequencyCap};
use sextant_services::marketing::offers::offers_for;
use sextant_services::Context;
use sextant_store::{Actor, MarketingRow};

use crate::output::Report;

/// The marketer the demo acts as.
const MARKETER: &str = "demo";

/// The demo's marketer, as the audit trail records it.
fn marketer() -> Actor {
    Actor::new(MARKETER, "marketer")
}
const SEGMENT_RULE: &str = "savings_rate >= 0.1 and buffer_months >= 1 and consent.email = true";

/// What the demo's walk through marketing showed.
#[derive(Debug, Serialize)]
pub struct DemoMarketing {
    pub customers_checked: u64,
    /// Responses simulated from the population's ground truth after the launch.
    pub simulated_deliveries: u64,
    pub simulated_conversions: u64,
    pub offers_served: u64,
    pub customers_without_in_app_consent: u64,
    /// Offers above the customer's risk tolerance, or to a customer without consent, or of a
    /// product they hold: each must be zero.
    pub suitability_breaches: u64,
    pub consent_breaches: u64,
    pub held_offered: u64,
    pub segment_rule: String,
    pub segment_size: u64,
    pub launch: LaunchSummary,
    pub launch_replayed_identically: bool,
}

/// Offers served to everyone and the breaches among them.
#[derive(Default)]
struct OfferCheck {
    customers: u64,
    served: u64,
    no_consent: u64,
    unsuitable: u64,
    without_consent: u64,
    held: u64,
}

async fn check_offers(ctx: &Context) -> anyhow::Result<OfferCheck> {
    let mut rows: Vec<MarketingRow> = Vec::new();
    for_each_row(ctx.store.as_ref(), |row| rows.push(row.clone())).await?;
    let levels: HashMap<String, u8> = ctx
        .store
        .catalogue()
        .await?
        .into_iter()
        .map(|v| (v.product.id.as_str().to_owned(), v.product.risk_level.get()))
        .collect();
    let mut check = OfferCheck {
        customers: rows.len() as u64,
        ..OfferCheck::default()
    };
    for row in &rows {
        let list = offers_for(ctx, &row.customer.id, 5).await?;
        let consented = row.customer.consents.marketing.in_app;
        check.no_consent += u64::from(!consented);
        let tolerance = row.risk_level.unwrap_or(1);
        for offer in &list.offers {
            check.served += 1;
            check.without_consent += u64::from(!consented);
            let level = levels.get(&offer.product_id).copied().unwrap_or(u8::MAX);
            check.unsuitable += u64::from(level > tolerance);
            check.held += u64::from(row.held.iter().any(|h| h.as_str() == offer.product_id));
        }
    }
    Ok(check)
}

/// Conversion probability without the campaign, and the most the campaign adds, for a
/// customer of true affinity `a` to the product: `BASE + ORGANIC * a^2` in both arms, plus
/// `PERSUADED * a^2` when contacted. The uplift so grows with affinity, which the offer
/// model only sees through behaviour: a fair test of the Qini curve.
const BASE_CONVERSION: f64 = 0.01;
const ORGANIC_CONVERSION: f64 = 0.04;
const PERSUADED_CONVERSION: f64 = 0.15;

/// The campaign's aftermath, simulated from the population's ground truth (the demo has
/// no real customers to answer it): every treatment member is delivered the message, and
/// members of both arms convert with the probabilities above, drawn from one seeded stream
/// per campaign. Recorded through the same use case as `POST /v1/campaigns/{id}/events`.
async fn simulate_responses(
    ctx: &Context,
    campaign_id: &str,
    product_id: &str,
    truth: &std::path::Path,
) -> anyhow::Result<(u64, u64)> {
    use rand::{Rng, SeedableRng};
    use sextant_services::marketing::campaigns::delivery::{
        record_events, CampaignEventBatch, CampaignEventRecord, CAMPAIGN_EVENTS_MAX,
    };
    let mut affinity: HashMap<String, f64> = HashMap::new();
    for line in std::fs::read_to_string(truth)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(id), Some(a)) = (
            v["customer_id"].as_str(),
            v["product_affinities"][product_id].as_f64(),
        ) {
            affinity.insert(id.to_owned(), a);
        }
    }
    let members = ctx
        .store
        .campaign_members(campaign_id, None, None, sextant_store::MARKETING_PAGE_MAX)
        .await?;
    let now = Utc::now();
    let mut events = Vec::new();
    let (mut delivered, mut converted) = (0, 0);
    // One stream per campaign, over the members in id order: the same draws every run.
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(sextant_hash::fnv1a64(campaign_id.as_bytes()));
    for m in &members {
        let id = m.customer_id.as_str();
        let a = affinity.get(id).copied().unwrap_or(0.0);
        let treated = m.arm == "treatment";
        let mut p = BASE_CONVERSION + ORGANIC_CONVERSION * a * a;
        let mut push = |kind: &str, hours: i64| {
            events.push(CampaignEventRecord {
                event_id: format!("demo-{kind}-{id}"),
                customer_id: id.to_owned(),
                kind: kind.to_owned(),
                occurred_at: (now + Duration::hours(hours)).to_rfc3339(),
            });
        };
        if treated {
            push("delivered", 0);
            delivered += 1;
            p += PERSUADED_CONVERSION * a * a;
        }
        if rng.gen_bool(p.clamp(0.0, 1.0)) {
            push("converted", rng.gen_range(1..72));
            converted += 1;
        }
    }
    let by = marketer();
    while !events.is_empty() {
        let rest = events.split_off(events.len().min(CAMPAIGN_EVENTS_MAX));
        record_events(ctx, campaign_id, &CampaignEventBatch { events }, &by).await?;
        events = rest;
    }
    Ok((delivered, converted))
}

/// Offers for every customer, then a marketer's segment, its preview, and a campaign with a
/// holdout launched twice under one key, and its simulated responses.
pub async fn walk(ctx: &Context, truth: &std::path::Path) -> anyhow::Result<DemoMarketing> {
    let offers = check_offers(ctx).await?;
    let rule = parse_rule("rule", SEGMENT_RULE)?;
    let segment_size = preview(ctx, &Definition::Rule(rule)).await?.size;
    let now = Utc::now();
    let audience_id = audiences::audience_id(&format!("demo-savers-{}", now.timestamp_millis()))?;
    let audience = AudienceRequest {
        version: 1,
        name: "Savers with a buffer, reachable by email".into(),
        rule: Some(SEGMENT_RULE.into()),
        lookalike: None,
    };
    audiences::put_version(ctx, audience_id.clone(), &audience, &marketer()).await?;
    let spec = CampaignSpec {
        name: "12-month term deposit for savers".into(),
        audience_id,
        audience_version: Some(1),
        product_id: "dep-term-12m".into(),
        channel: "email".into(),
        starts_at: now.to_rfc3339(),
        ends_at: Some((now + Duration::days(30)).to_rfc3339()),
        send_cap: None,
        budget_minor: Some(50_000),
        cost_per_contact_minor: Some(5),
        frequency_cap: FrequencyCap {
            max_contacts: 2,
            window_days: 30,
        },
        holdout_share: 0.2,
        bonus_points: Some(500),
    };
    let campaign = campaigns::create(ctx, spec, &marketer(), now).await?;
    let keyed = Keyed {
        caller: format!("marketer:{MARKETER}"),
        key: IdempotencyKey::parse(&format!("demo-launch-{}", campaign.id))?,
        request_hash: launch_request(&campaign.id),
    };
    let first = launch(ctx, &keyed, &marketer(), &campaign.id).await?;
    let again = launch(ctx, &keyed, &marketer(), &campaign.id).await?;
    let (delivered, conversions) = if truth.exists() {
        simulate_responses(ctx, &campaign.id, "dep-term-12m", truth).await?
    } else {
        (0, 0)
    };
    Ok(DemoMarketing {
        simulated_deliveries: delivered,
        simulated_conversions: conversions,
        customers_checked: offers.customers,
        offers_served: offers.served,
        customers_without_in_app_consent: offers.no_consent,
        suitability_breaches: offers.unsuitable,
        consent_breaches: offers.without_consent,
        held_offered: offers.held,
        segment_rule: SEGMENT_RULE.into(),
        segment_size,
        launch: serde_json::from_value(first.body.clone())?,
        launch_replayed_identically: first == again,
    })
}

impl Report for DemoMarketing {
    fn print_table(&self) {
        let d = self;
        println!(
            "  {} offers to {} customers ({} without in-app consent got none); breaches: suitability {}, consent {}, held {}",
            d.offers_served,
            d.customers_checked,
            d.customers_without_in_app_consent,
            d.suitability_breaches,
            d.consent_breaches,
            d.held_offered
        );
        println!(
            "  segment `{}`: {} customers",
            d.segment_rule, d.segment_size
        );
        let l = &d.launch;
        let x = &l.excluded;
        println!(
            "  campaign {} launched: {} in treatment, {} held out ({:.0}%), {} left out (no consent {}, unsuitable {}, held {}, ineligible {}, frequency cap {}, over budget {}); a repeated launch {}",
            l.campaign_id,
            l.treatment,
            l.holdout,
            100.0 * l.holdout_share,
            x.no_consent + x.unsuitable + x.already_held + x.ineligible + x.frequency_cap + x.over_cap,
            x.no_consent,
            x.unsuitable,
            x.already_held,
            x.ineligible,
            x.frequency_cap,
            x.over_cap,
            if d.launch_replayed_identically {
                "changed nothing"
            } else {
                "DIFFERED"
            }
        );
        println!(
            "  simulated responses from the population's true affinities: {} delivered, {} conversions in both arms (the report in the console)",
            d.simulated_deliveries, d.simulated_conversions
        );
    }
}
