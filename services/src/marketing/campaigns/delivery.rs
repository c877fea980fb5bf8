//! Delivery: the contact list a bank's channel reads while a campaign runs (treatment
//! members only, consent on the channel checked again at that moment), and the delivery and
//! outcome events the channels report back, all or nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{CustomerId, EventId, MarketingChannel};
use sextant_store::{Actor, CampaignEvent, PAGE_MAX};
use utoipa::ToSchema;

use super::{schedule_status, stored};
use crate::marketing::status::CampaignStatus;
use crate::{Context, ItemProblem, Result, ServiceError};

/// Most delivery events per request.
pub const CAMPAIGN_EVENTS_MAX: usize = 1_000;

/// What the bank's channels report.
pub const CAMPAIGN_EVENT_KINDS: &[&str] = &[
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "failed",
];

#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub customer_id: String,
    pub score: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub campaign_id: String,
    pub channel: String,
    pub contacts: Vec<Contact>,
    /// Treatment members of this page left out because they have withdrawn consent on the
    /// channel since the launch.
    pub withdrawn: u64,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<String>,
}

/// The customers to contact now: treatment members after `after`, a page of at most
/// `limit` (1..=[`PAGE_MAX`]; the route refuses others), consent on the channel checked again. A conflict
/// unless the campaign is running and inside its schedule.
pub async fn contacts(
    ctx: &Context,
    id: &str,
    after: Option<&str>,
    limit: Option<u64>,
    now: DateTime<Utc>,
) -> Result<ContactList> {
    let campaign = stored(ctx, id).await?;
    let status = schedule_status(&campaign, now);
    if status != CampaignStatus::Running.as_str() {
        return Err(ServiceError::conflict(
            "campaign_not_running",
            "status",
            format!("the campaign is {status}; contacts are listed only while it runs"),
        ));
    }
    let channel = MarketingChannel::parse(&campaign.channel)
        .map_err(|e| ServiceError::internal(format!("stored channel: {}", e.message)))?;
    let limit = limit.unwrap_or(PAGE_MAX).clamp(1, PAGE_MAX);
    let page = ctx
        .store
        .campaign_members(id, Some("treatment"), after, limit)
        .await?;
    let next = (page.len() as u64 == limit)
        .then(|| page.last().map(|m| m.customer_id.to_string()))
        .flatten();
    let mut contacts = Vec::with_capacity(page.len());
    let mut withdrawn = 0;
    for m in page {
        let consented = ctx
            .store
            .customer(&m.customer_id)
            .await?
            .is_some_and(|c| c.customer.consents.marketing.allows(channel));
        if consented {
            contacts.push(Contact {
                customer_id: m.customer_id.to_string(),
                score: m.score,
            });
        } else {
            withdrawn += 1;
        }
    }
    Ok(ContactList {
        campaign_id: id.to_owned(),
        channel: campaign.channel,
        contacts,
        withdrawn,
        next,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEventRecord {
    /// Unique per campaign: a re-sent event is a duplicate, a reused id a 409. An opaque id,
    /// never a card number (not expressible in the schema).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub event_id: String,
    /// A member of the campaign (an opaque id).
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: String,
    /// `sent`, `delivered`, `opened`, `clicked`, `converted`, `bounced` or `failed`.
    /// Conversions are reported for holdout members too: that is what the uplift measures.
    #[schema(schema_with = crate::schema::campaign_event_kind)]
    pub kind: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub occurred_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEventBatch {
    /// 1 to 1000 events.
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<CampaignEventRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignEventsAccepted {
    pub stored: usize,
    pub duplicates: usize,
    /// Treatment members awarded the campaign's bonus points by these conversions (a
    /// member is awarded once, however many conversions are reported).
    pub bonuses_awarded: usize,
}

/// The events of a batch, every bad field of every item named.
fn parse_events(batch: &CampaignEventBatch) -> Result<Vec<CampaignEvent>> {
    let mut problems = Vec::new();
    let mut events = Vec::with_capacity(batch.events.len());
    for (i, e) in batch.events.iter().enumerate() {
        let at = |field: &str, code: &str, message: String| {
            ItemProblem::field(field, code, message).at(i)
        };
        let event_id = EventId::parse(&e.event_id)
            .map_err(|err| problems.push(at("event_id", err.code, err.message)))
            .ok();
        let customer = CustomerId::parse(&e.customer_id)
            .map_err(|err| problems.push(at("customer_id", err.code, err.message)))
            .ok();
        if !CAMPAIGN_EVENT_KINDS.contains(&e.kind.as_str()) {
            problems.push(at(
                "kind",
                "invalid_kind",
                format!("one of {}", CAMPAIGN_EVENT_KINDS.join(", ")),
            ));
        }
        let occurred_at = DateTime::parse_from_rfc3339(&e.occurred_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                problems.push(at(
                    "occurred_at",
                    "invalid_timestamp",
                    "expected an RFC 3339 timestamp".into(),
                ))
            })
            .ok();
        if let (Some(event_id), Some(customer_id), Some(occurred_at)) =
            (event_id, customer, occurred_at)
        {
            events.push(CampaignEvent {
                event_id: event_id.to_string(),
                customer_id,
                kind: e.kind.clone(),
                occurred_at,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    Ok(events)
}

/// Delivery and outcome events of a launched campaign, all or nothing: a re-sent event is a
/// duplicate, a reused id with other content a conflict, an event about a non-member
/// refused.
pub async fn record_events(
    ctx: &Context,
    id: &str,
    batch: &CampaignEventBatch,
    by: &Actor,
) -> Result<CampaignEventsAccepted> {
    let campaign = stored(ctx, id).await?;
    if CampaignStatus::parse(&campaign.status) == Some(CampaignStatus::Draft) {
        return Err(ServiceError::conflict(
            "campaign_not_launched",
            "id",
            "a draft campaign has no members yet",
        ));
    }
    if batch.events.is_empty() || batch.events.len() > CAMPAIGN_EVENTS_MAX {
        return Err(ServiceError::invalid(
            "events",
            "out_of_range",
            format!("1 to {CAMPAIGN_EVENTS_MAX} events per request"),
        ));
    }
    let events = parse_events(batch)?;
    let outcome = ctx.store.record_campaign_events(id, &events, by).await?;
    let bonus = serde_json::from_value::<super::CampaignSpec>(campaign.spec.clone())
        .ok()
        .and_then(|spec| spec.bonus_points);
    let bonuses_awarded = match bonus {
        Some(points) => award_bonus(ctx, id, points, &events, by).await?,
        None => 0,
    };
    Ok(CampaignEventsAccepted {
        stored: outcome.stored,
        duplicates: outcome.duplicates.len(),
        bonuses_awarded,
    })
}

/// The posting key of campaign `id`'s bonus in a member's journal: one per campaign.
pub fn bonus_key(campaign: &str) -> String {
    format!("campaign-bonus:{campaign}")
}

/// Awards `points` to every treatment member a `converted` event names, at their first
/// conversion, in one transaction; a member already awarded is left as they are. Holdout
/// members were never told of the campaign: their conversions measure the uplift, and earn
/// nothing from it.
async fn award_bonus(
    ctx: &Context,
    campaign: &str,
    points: i64,
    events: &[CampaignEvent],
    by: &Actor,
) -> Result<usize> {
    let mut first: std::collections::BTreeMap<CustomerId, DateTime<Utc>> = Default::default();
    for e in events.iter().filter(|e| e.kind == "converted") {
        let at = first.entry(e.customer_id.clone()).or_insert(e.occurred_at);
        *at = (*at).min(e.occurred_at);
    }
    let rules = crate::loyalty::rules();
    let mut steps: Vec<(CustomerId, sextant_store::LedgerStep)> = Vec::new();
    for (customer, at) in first {
        let treated = ctx
            .store
            .memberships(&customer)
            .await?
            .iter()
            .any(|m| m.campaign_id == campaign && m.arm == "treatment");
        if !treated {
            continue;
        }
        let key = bonus_key(campaign);
        let why = format!("converted in campaign {campaign}");
        let expires_on = rules.expires_on(at.date_naive());
        steps.push((
            customer,
            Box::new(move |ledger| {
                if ledger.posting(&key).is_some() {
                    return Ok(Vec::new());
                }
                Ok(vec![ledger.bonus(&key, at, points, expires_on, why)?])
            }),
        ));
    }
    let mut awarded = 0;
    for result in ctx.store.post_points_many(steps, by, Utc::now()).await? {
        match result {
            Ok(applied) => awarded += applied.len(),
            Err(e) => tracing::error!(error = %e, campaign, "a campaign bonus was refused"),
        }
    }
    Ok(awarded)
}
