//! What the store keeps for marketing: catalogue versions, audiences (rule segments and
//! lookalikes, versioned), campaigns with their members and delivery events, and the offer
//! models. The shapes of campaign specifications and launch summaries belong to the API
//! layer and are kept here as JSON.

use chrono::{DateTime, Utc};
use sextant_domain::{CustomerId, Product, ProductId};

use super::StoredProfile;

/// One saved version of a catalogue product. Versions of a product are numbered 1, 2, ...
/// and never change once written; the newest decides. A product of the built-in catalogue
/// that no one has edited reads as version 0 with no eligibility rule and no terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductVersion {
    pub product: Product,
    pub version: u32,
    /// A rule in the segment language that a customer must match to be offered it.
    pub eligibility: Option<String>,
    /// Terms shown with the offer (plain text).
    pub terms: Option<String>,
    /// A retired product stays in the catalogue (holdings refer to it) but is never offered.
    pub active: bool,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// One saved version of an audience: a rule segment or a lookalike of a seed list.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudience {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// `rule` or `lookalike`.
    pub kind: String,
    /// For `rule`: `{"rule": "..."}`; for `lookalike`: seeds and size or threshold.
    pub definition: serde_json::Value,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A campaign as stored. `spec` is the request that created it (audience, product, channel,
/// schedule, caps, holdout); `launch` is the summary written at launch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCampaign {
    pub id: String,
    pub name: String,
    /// `draft`, `running`, `paused`, `stopped`.
    pub status: String,
    pub product_id: ProductId,
    /// A `MarketingChannel` name.
    pub channel: String,
    pub spec: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub launch: Option<serde_json::Value>,
}

/// A customer placed in a campaign at launch.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignMember {
    pub customer_id: CustomerId,
    /// `treatment` or `holdout`.
    pub arm: String,
    /// The offer model's probability for the campaign's product when launched (orders the
    /// Qini curve).
    pub score: f64,
}

/// A launch: the campaign's status moves from `draft` to `running` and its members are
/// written, together, once.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignLaunch {
    pub campaign_id: String,
    pub launched_at: DateTime<Utc>,
    pub actor: String,
    pub summary: serde_json::Value,
    pub members: Vec<CampaignMember>,
}

/// A customer's place in a campaign, with the campaign's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub campaign_id: String,
    pub product_id: ProductId,
    pub channel: String,
    pub status: String,
    pub arm: String,
    pub assigned_at: DateTime<Utc>,
}

/// A delivery or outcome event of a campaign, reported by the bank's channels.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEvent {
    pub event_id: String,
    pub customer_id: CustomerId,
    /// `sent`, `delivered`, `opened`, `clicked`, `converted`, `bounced`, `failed`.
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
}

/// What happened to one member of a campaign, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberOutcome {
    pub customer_id: String,
    pub arm: String,
    pub score: f64,
    /// Any `sent` or `delivered` event.
    pub reached: bool,
    /// Any `converted` event.
    pub converted: bool,
}

/// One customer's offer-related behaviour, for the offers' interaction counts.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferInteraction {
    /// A `BehaviourKind` name: `product_view`, `offer_impression`, `offer_click`,
    /// `offer_dismiss` or `offer_conversion`.
    pub kind: String,
    pub product_id: ProductId,
    pub occurred_at: DateTime<Utc>,
}

/// Everything marketing reads about a customer when it evaluates an audience, in one page.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketingRow {
    pub customer: sextant_domain::Customer,
    pub profile: Option<StoredProfile>,
    /// The latest recorded risk level (1..5), if any.
    pub risk_level: Option<u8>,
    pub held: Vec<ProductId>,
}

/// A trained offer model as stored: the artifact is `OfferModel::to_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOfferModel {
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub metrics: serde_json::Value,
    pub artifact: Vec<u8>,
}
