//! Campaigns as the service runs them: the specification a marketer writes and its checks,
//! creation as a draft, the status moves, and what a campaign looks like to marketers.
//!
//! - [`launch`]: the launch (audience, consent, suitability, eligibility, frequency caps,
//!   send cap, sticky holdout), written once under an Idempotency-Key;
//! - [`delivery`]: the contact list for the bank's channels and their delivery events;
//! - [`report`]: reach, conversion per arm, uplift with its interval, the Qini curve.

pub mod delivery;
pub mod launch;
pub mod report;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{MarketingChannel, ProductId};
use sextant_store::{Actor, StoredAudience, StoredCampaign, PAGE_MAX};
use utoipa::ToSchema;

use super::status::{CampaignStatus, Move};
use crate::records::format_timestamp;
use crate::{new_id, Context, ItemProblem, Result, ServiceError};

/// Largest holdout share: half the audience.
pub const HOLDOUT_SHARE_MAX: f64 = 0.5;
/// Longest frequency-cap window.
pub const FREQUENCY_WINDOW_DAYS_MAX: u32 = 365;

/// What a marketer asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    /// A segment or lookalike id (an audience id: 1 to 64 of a-z, 0-9, - and _) that exists.
    #[schema(pattern = "^[a-z0-9_-]{1,64}$")]
    pub audience_id: String,
    /// The audience version targeted; the newest when absent (pinned at creation).
    #[serde(default)]
    pub audience_version: Option<u32>,
    /// A product id of the catalogue (an opaque id).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub product_id: String,
    /// `push`, `email`, `sms` or `in_app`.
    #[schema(schema_with = crate::schema::marketing_channel)]
    pub channel: String,
    /// RFC 3339; contacts are due from then (launch may come earlier).
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// RFC 3339, after `starts_at` (a rule the schema cannot state).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// Most customers contacted (the treatment arm), at least 1.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub send_cap: Option<u64>,
    /// Budget and cost per contact, minor units: the send cap is budget / cost. Both
    /// positive, and both or neither (a rule the schema cannot state).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub budget_minor: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub cost_per_contact_minor: Option<i64>,
    /// Across all campaigns: a customer contacted this many times within the window is left
    /// out.
    pub frequency_cap: FrequencyCap,
    /// Share of the audience held out (never contacted), 0..=0.5.
    #[schema(minimum = 0.0, maximum = 0.5)]
    pub holdout_share: f64,
    /// Loyalty points a treatment member earns on converting (once per member, valid as
    /// long as earned points); offers of the campaign's product show them as the incentive.
    /// 1 to 100,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub bonus_points: Option<i64>,
}

/// Most bonus points one campaign awards a member.
pub const BONUS_POINTS_MAX: i64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    /// At least 1.
    #[schema(minimum = 1)]
    pub max_contacts: u32,
    /// 1 to 365 days.
    #[schema(minimum = 1, maximum = 365)]
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
    pub fn check(&self) -> Result<Checked> {
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
        if self
            .bonus_points
            .is_some_and(|p| !(1..=BONUS_POINTS_MAX).contains(&p))
        {
            problems.push(ItemProblem::field(
                "bonus_points",
                "out_of_range",
                format!("1 to {BONUS_POINTS_MAX} points"),
            ));
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
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

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    /// `draft`, `running`, `paused` or `stopped`; a running campaign before its start reads
    /// `scheduled`, after its end `ended`.
    pub status: String,
    pub product_id: String,
    pub channel: String,
    pub spec: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub launched_at: Option<String>,
    pub launch: Option<serde_json::Value>,
}

/// The status as marketers read it at `now`: a running campaign before its start is
/// `scheduled`, after its end `ended`.
pub fn schedule_status(c: &StoredCampaign, now: DateTime<Utc>) -> String {
    let spec: Option<CampaignSpec> = serde_json::from_value(c.spec.clone()).ok();
    let window = spec.as_ref().and_then(|s| s.check().ok());
    let running = CampaignStatus::parse(&c.status) == Some(CampaignStatus::Running);
    match window {
        Some(w) if running && now < w.starts_at => "scheduled".into(),
        Some(w) if running && w.ends_at.is_some_and(|e| now >= e) => "ended".into(),
        _ => c.status.clone(),
    }
}

impl CampaignView {
    pub fn new(c: &StoredCampaign, now: DateTime<Utc>) -> Self {
        CampaignView {
            id: c.id.clone(),
            name: c.name.clone(),
            status: schedule_status(c, now),
            product_id: c.product_id.to_string(),
            channel: c.channel.clone(),
            spec: c.spec.clone(),
            created_by: c.created_by.clone(),
            created_at: format_timestamp(c.created_at),
            updated_at: format_timestamp(c.updated_at),
            launched_at: c.launched_at.map(format_timestamp),
            launch: c.launch.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
}

/// The audience a campaign names, at its pinned version (the newest when none is pinned).
pub(crate) async fn named_audience(ctx: &Context, spec: &CampaignSpec) -> Result<StoredAudience> {
    ctx.store
        .audience(&spec.audience_id, spec.audience_version)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "audience_id",
                "unknown_audience",
                "no audience has this id and version",
            )
        })
}

/// Creates a campaign in `draft`: the audience pinned to its current version, the product,
/// channel, schedule, send cap or budget, frequency cap and holdout share.
pub async fn create(
    ctx: &Context,
    mut spec: CampaignSpec,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<CampaignView> {
    let checked = spec.check()?;
    let audience = named_audience(ctx, &spec).await?;
    spec.audience_version = Some(audience.version);
    let product_id = ProductId::parse(&spec.product_id)
        .map_err(|e| ServiceError::invalid("product_id", e.code, e.message))?;
    let known = ctx
        .store
        .catalogue()
        .await?
        .into_iter()
        .any(|v| v.product.id == product_id);
    if !known {
        return Err(ServiceError::invalid(
            "product_id",
            "unknown_product",
            "no product of the catalogue has this id",
        ));
    }
    let campaign = StoredCampaign {
        id: new_id("cmp"),
        name: spec.name.trim().to_owned(),
        status: CampaignStatus::Draft.as_str().into(),
        product_id,
        channel: checked.channel.as_str().to_owned(),
        spec: serde_json::to_value(&spec).map_err(ServiceError::internal)?,
        created_by: by.id.clone(),
        created_at: now,
        updated_at: now,
        launched_at: None,
        launch: None,
    };
    ctx.store.create_campaign(&campaign, by).await?;
    Ok(CampaignView::new(&campaign, now))
}

/// Campaigns, newest first (at most `limit`, bounded by [`PAGE_MAX`]).
pub async fn list(
    ctx: &Context,
    status: Option<&str>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<CampaignList> {
    let list = ctx
        .store
        .campaigns(status, limit.clamp(1, PAGE_MAX))
        .await?;
    Ok(CampaignList {
        campaigns: list.iter().map(|c| CampaignView::new(c, now)).collect(),
    })
}

pub async fn stored(ctx: &Context, id: &str) -> Result<StoredCampaign> {
    ctx.store.campaign(id).await?.ok_or(ServiceError::NotFound)
}

/// One campaign with its launch summary.
pub async fn get(ctx: &Context, id: &str, now: DateTime<Utc>) -> Result<CampaignView> {
    Ok(CampaignView::new(&stored(ctx, id).await?, now))
}

/// Pauses, resumes or stops a campaign, recorded in its status log with the actor; a
/// conflict when its status does not allow the move.
pub async fn apply(
    ctx: &Context,
    id: &str,
    movement: Move,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<CampaignView> {
    let from = movement.from_names();
    let to = movement.to().as_str();
    let moved = ctx
        .store
        .set_campaign_status(id, &from, to, by, now)
        .await?;
    let campaign = stored(ctx, id).await?;
    if !moved {
        return Err(ServiceError::conflict(
            "invalid_transition",
            "status",
            format!(
                "a {} campaign cannot become {to} (allowed from: {})",
                campaign.status,
                from.join(", ")
            ),
        ));
    }
    Ok(CampaignView::new(&campaign, now))
}
