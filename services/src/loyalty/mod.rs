//! Loyalty points as the service runs them: a customer's balance, tier, expiring lots and
//! statement; redemptions (under an Idempotency-Key) and their reversal; staff adjustments;
//! the expiry job; the liability report for finance.
//!
//! Every write goes through `LoyaltyStore::post_points`, which runs the ledger on the
//! customer's journal under a per-customer lock: two simultaneous redemptions cannot spend
//! the same points. A redemption's Idempotency-Key becomes its posting key (namespaced by
//! the caller), so a retry is the same posting and gets the same answer, and another
//! request under the key is refused, in the same transaction as the effect.

mod earning;

pub use earning::{earn_on_events, earn_on_payments_of, earn_stored, spend_12m, EarnReport};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::CustomerId;
use sextant_loyalty::{Applied, CustomerLedger, EarningRules, LedgerError, Lot, Posting};
use sextant_store::{Actor, LiabilityMonth, Store};
use utoipa::ToSchema;

use crate::idempotency::{Answer, Keyed, CREATED};
use crate::records::format_timestamp;
use crate::{Context, ItemProblem, Result, ServiceError};

/// Days after a redemption it can be reversed (a returned purchase, a cancelled plan).
pub const REVERSAL_WINDOW_DAYS: i64 = 30;
/// Lots listed as expiring soon: those whose last day is within this many days.
pub const EXPIRING_WITHIN_DAYS: i64 = 90;
/// Statement entries per page, at most.
pub const STATEMENT_PAGE_MAX: usize = 100;
/// Customers per page of the expiry job.
const EXPIRY_PAGE: u64 = 500;

/// `t` to the millisecond, as the journal keeps it: the first answer is the one a retry gets.
fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The rules in force.
pub fn rules() -> EarningRules {
    EarningRules::default()
}

/// A refusal of the ledger, in the API's terms.
fn refused(e: LedgerError) -> ServiceError {
    match e {
        LedgerError::Insufficient {
            available,
            requested,
        } => ServiceError::Conflict {
            code: "insufficient_points",
            problems: vec![ItemProblem::field(
                "points",
                "insufficient_points",
                format!("{available} points can be spent today; {requested} were asked"),
            )],
        },
        LedgerError::KeyReused(_) => ServiceError::Invalid(vec![ItemProblem::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used for a different request",
        )]),
        LedgerError::NotPositive => {
            ServiceError::invalid("points", "not_positive", "points must be above zero")
        }
        LedgerError::TooLarge => ServiceError::invalid("points", "too_large", e.to_string()),
        LedgerError::Unknown { .. } => ServiceError::NotFound,
        LedgerError::AlreadyReversed { .. } => {
            ServiceError::conflict("already_reversed", "redemption_id", e.to_string())
        }
        LedgerError::WindowClosed(_) => {
            ServiceError::conflict("reversal_window_closed", "redemption_id", e.to_string())
        }
        LedgerError::ReasonRequired => {
            ServiceError::invalid("reason", "required", "an adjustment needs a reason")
        }
        LedgerError::ExpiresBeforeEarned => ServiceError::invalid(
            "expires_on",
            "before_earned",
            "the last valid day cannot be before today",
        ),
        LedgerError::Corrupt(detail) => ServiceError::internal(detail),
    }
}

/// What one journal entry did, as a statement line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    /// Its place in the customer's journal (0 = the first); page with `before`.
    pub seq: u64,
    pub key: String,
    /// earn, bonus, reverse_earn, redeem, reverse_redeem, expire, adjust
    pub kind: String,
    pub at: String,
    /// Points into (positive) or out of the customer's balance.
    pub points: i64,
    /// Points a reversal could not take back (already spent).
    pub shortfall: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<String>,
    /// An adjustment's reason, what a redemption paid for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// An earning's payments, each with its points (absent for other entries): payments
    /// stored together earn in one entry per expiry day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<StatementItem>,
}

/// One payment's points in an earning entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatementItem {
    /// `earn:<event id>`: what the payment's refund names.
    pub key: String,
    /// When the payment happened.
    pub at: String,
    pub points: i64,
    /// How the points were worked out: tier, multiplier, a cap.
    pub why: String,
}

fn statement_line(seq: usize, p: &Posting) -> StatementLine {
    StatementLine {
        seq: seq as u64,
        key: p.key.clone(),
        kind: p.kind.as_str().to_owned(),
        at: format_timestamp(p.at),
        points: p.customer_change(),
        shortfall: p.shortfall,
        reverses: p.reverses.clone(),
        reason: p.reason.clone(),
        actor: p.actor.clone(),
        items: p
            .items
            .iter()
            .map(|i| StatementItem {
                key: i.key.clone(),
                at: format_timestamp(i.at),
                points: i.points,
                why: i.why.clone(),
            })
            .collect(),
    }
}

/// Points that lapse soon.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpiringLot {
    pub lot: String,
    pub points: i64,
    /// The last day they can be spent (YYYY-MM-DD).
    pub expires_on: String,
}

/// A customer's points.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoyaltyView {
    pub customer_id: String,
    /// Points held (every lot's remaining points).
    pub balance: i64,
    /// Points that can be spent today.
    pub spendable: i64,
    /// What the spendable points are worth, in minor units of `value_currency`.
    pub spendable_value_minor: i64,
    pub value_currency: String,
    /// The tier, from the last 365 days' purchases less refunds (in the rules' currency).
    pub tier: String,
    /// That spending, in minor units of `value_currency`.
    pub spend_12m_minor: i64,
    /// The rules points are earned under.
    pub rules_version: String,
    /// Lots whose last day is within 90 days, soonest first.
    pub expiring: Vec<ExpiringLot>,
    /// Journal entries, newest first.
    pub statement: Vec<StatementLine>,
    /// `before` for the next (older) page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

fn expiring(lots: &[Lot], today: NaiveDate) -> Vec<ExpiringLot> {
    let until = today + Duration::days(EXPIRING_WITHIN_DAYS);
    let mut soon: Vec<&Lot> = lots
        .iter()
        .filter(|l| l.remaining > 0 && l.expires_on >= today && l.expires_on <= until)
        .collect();
    soon.sort_by(|a, b| (a.expires_on, &a.id).cmp(&(b.expires_on, &b.id)));
    soon.into_iter()
        .map(|l| ExpiringLot {
            lot: l.id.clone(),
            points: l.remaining,
            expires_on: l.expires_on.to_string(),
        })
        .collect()
}

async fn existing_customer(ctx: &Context, id: &CustomerId) -> Result<sextant_domain::Customer> {
    Ok(ctx
        .store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?
        .customer)
}

/// Balance, tier, expiring lots and a page of the statement (newest first, `before` a
/// journal place to page back from).
pub async fn view(
    ctx: &Context,
    id: &CustomerId,
    before: Option<u64>,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<LoyaltyView> {
    existing_customer(ctx, id).await?;
    let ledger = ctx.store.loyalty_ledger(id).await?;
    let rules = rules();
    let today = now.date_naive();
    let snapshot = ledger.snapshot(today);
    let spend = spend_12m(ctx.store.as_ref(), &rules, id, now).await?;
    let journal = ledger.journal();
    let end = before.map_or(journal.len(), |b| (b as usize).min(journal.len()));
    let start = end.saturating_sub(limit.clamp(1, STATEMENT_PAGE_MAX));
    let statement = (start..end)
        .rev()
        .map(|seq| statement_line(seq, &journal[seq]))
        .collect();
    Ok(LoyaltyView {
        customer_id: id.to_string(),
        balance: snapshot.balance,
        spendable: snapshot.spendable,
        spendable_value_minor: rules.value.money_for(snapshot.spendable),
        value_currency: rules.value.currency.to_string(),
        tier: rules.tier(spend).name.clone(),
        spend_12m_minor: spend,
        rules_version: rules.version.clone(),
        expiring: expiring(ledger.lots(), today),
        statement,
        next_before: (start > 0).then_some(start as u64),
    })
}

/// What points are spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedeemAgainst {
    /// Money off a purchase at checkout.
    Purchase,
    /// Money off an instalment plan's fee.
    InstalmentFee,
}

impl RedeemAgainst {
    fn as_str(self) -> &'static str {
        match self {
            RedeemAgainst::Purchase => "purchase",
            RedeemAgainst::InstalmentFee => "instalment_fee",
        }
    }
}

/// A redemption: exactly one of `points` and `amount_minor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionRequest {
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub customer_id: String,
    /// Points to spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub points: Option<i64>,
    /// Or the money off wanted, in minor units of the point value's currency: the fewest
    /// points worth at least this much are spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 999_999_999_999i64)]
    pub amount_minor: Option<i64>,
    pub against: RedeemAgainst,
    /// The order or the instalment plan the money comes off: 1 to 64 characters.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub reference: String,
}

/// A redemption as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RedemptionView {
    pub redemption_id: String,
    pub customer_id: String,
    pub points: i64,
    /// The exact money off, in minor units of `currency` (rounded down: no fraction of a
    /// cent is paid).
    pub amount_minor: i64,
    pub currency: String,
    pub against: String,
    pub reference: String,
    pub redeemed_at: String,
    /// The last day it can be reversed.
    pub reversible_until: String,
}

fn redemption_id(keyed: &Keyed) -> String {
    let digest = sextant_hash::sha256_hex(
        format!("{}\u{1f}{}", keyed.caller, keyed.key.as_str()).as_bytes(),
    );
    format!("lr_{}", &digest[..24])
}

fn redemption_view(customer: &CustomerId, p: &Posting) -> RedemptionView {
    let value = rules().value;
    let points = -p.customer_change();
    let (against, reference) = p
        .reason
        .as_deref()
        .and_then(|memo| memo.split_once(':'))
        .unwrap_or(("purchase", ""));
    RedemptionView {
        redemption_id: p.key.clone(),
        customer_id: customer.to_string(),
        points,
        amount_minor: value.money_for(points),
        currency: value.currency.to_string(),
        against: against.to_owned(),
        reference: reference.to_owned(),
        redeemed_at: format_timestamp(p.at),
        reversible_until: (p.at.date_naive() + Duration::days(REVERSAL_WINDOW_DAYS)).to_string(),
    }
}

fn check_reference(reference: &str) -> Result<()> {
    let valid = (1..=64).contains(&reference.len())
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !valid {
        return Err(ServiceError::invalid(
            "reference",
            "invalid_reference",
            "1 to 64 ASCII letters, digits and `. _ : -`",
        ));
    }
    Ok(())
}

fn body_customer(raw: &str) -> Result<CustomerId> {
    CustomerId::parse(raw).map_err(|e| ServiceError::invalid("customer_id", e.code, e.message))
}

/// Spends points on a purchase or an instalment fee, once per Idempotency-Key: the same key
/// and request again is the first answer; another request under the key is refused.
pub async fn redeem(
    ctx: &Context,
    keyed: &Keyed,
    by: &sextant_store::Actor,
    request: &RedemptionRequest,
    now: DateTime<Utc>,
) -> Result<Answer> {
    let now = stored_time(now);
    let id = body_customer(&request.customer_id)?;
    check_reference(&request.reference)?;
    let value = rules().value;
    let points = match (request.points, request.amount_minor) {
        (Some(points), None) => points,
        (None, Some(amount)) if amount > 0 => value.points_for(amount),
        (None, Some(_)) => {
            return Err(ServiceError::invalid(
                "amount_minor",
                "not_positive",
                "the amount must be above zero",
            ))
        }
        _ => {
            return Err(ServiceError::invalid(
                "points",
                "one_of_points_or_amount",
                "send exactly one of `points` and `amount_minor`",
            ))
        }
    };
    existing_customer(ctx, &id).await?;
    let key = redemption_id(keyed);
    let memo = format!("{}:{}", request.against.as_str(), request.reference);
    let actor = by.id.clone();
    let posting_key = key.clone();
    let applied = ctx
        .store
        .post_points(
            &id,
            Box::new(move |ledger: &mut CustomerLedger| {
                ledger
                    .redeem(&posting_key, now, points, Some(actor), Some(memo))
                    .map(|a| vec![a])
            }),
            by,
            now,
        )
        .await?
        .map_err(refused)?;
    let posting = &applied[0].posting;
    Ok(Answer {
        status: CREATED,
        body: serde_json::to_value(redemption_view(&id, posting))
            .map_err(ServiceError::internal)?,
    })
}

/// Posts one request of `customer`'s ledger and answers its statement line.
async fn post_one(
    ctx: &Context,
    customer: &CustomerId,
    by: &Actor,
    now: DateTime<Utc>,
    step: impl FnOnce(&mut CustomerLedger) -> std::result::Result<Applied, LedgerError> + Send + 'static,
) -> Result<StatementLine> {
    existing_customer(ctx, customer).await?;
    let applied = ctx
        .store
        .post_points(
            customer,
            Box::new(|ledger| step(ledger).map(|a| vec![a])),
            by,
            now,
        )
        .await?
        .map_err(refused)?;
    let first = &applied[0];
    Ok(statement_line(first.seq, &first.posting))
}

/// Reverses a redemption within its window: its points go back to their lots (or lapse, for
/// a lot past its last day). Once: its posting key is the redemption's, so sent again it is
/// the same reversal and the same answer.
pub async fn reverse_redemption(
    ctx: &Context,
    customer: &CustomerId,
    redemption: &str,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<StatementLine> {
    let now = stored_time(now);
    let target = redemption.to_owned();
    let key = format!("reverse:{redemption}");
    post_one(ctx, customer, by, now, move |ledger| {
        ledger.reverse_redemption(&key, &target, now, REVERSAL_WINDOW_DAYS)
    })
    .await
}

/// A staff adjustment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// Points to add (positive) or take (negative, at most what can be spent).
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub points: i64,
    /// Why, in words: kept with the adjustment and its actor (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Adds or takes points by hand, with the reason and the actor, once per Idempotency-Key.
pub async fn adjust(
    ctx: &Context,
    keyed: &Keyed,
    customer: &CustomerId,
    by: &Actor,
    request: &AdjustmentRequest,
    now: DateTime<Utc>,
) -> Result<StatementLine> {
    let now = stored_time(now);
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "reason",
            "invalid_reason",
            "1 to 500 characters, no control characters",
        ));
    }
    if request.points == 0 {
        return Err(ServiceError::invalid(
            "points",
            "not_zero",
            "an adjustment adds or takes at least one point",
        ));
    }
    let key = format!("adjust:{}", redemption_id(keyed));
    let expires_on = rules().expires_on(now.date_naive());
    let (points, actor) = (request.points, by.id.clone());
    post_one(ctx, customer, by, now, move |ledger| {
        ledger.adjust(&key, now, points, &reason, &actor, expires_on)
    })
    .await
}

/// What an expiry run did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ExpiryReport {
    /// The day lots whose last day was before it expired.
    pub day: String,
    pub customers: u64,
    pub lots: u64,
    pub points: i64,
}

/// Expires every lot past its last day, customer by customer. Safe to run twice, and on two
/// servers at once: each lot's expiry is one posting, keyed by the lot.
pub async fn expire_all(store: &dyn Store, by: &Actor, now: DateTime<Utc>) -> Result<ExpiryReport> {
    let now = stored_time(now);
    let day = now.date_naive();
    let mut report = ExpiryReport {
        day: day.to_string(),
        ..ExpiryReport::default()
    };
    let mut after: Option<CustomerId> = None;
    loop {
        let due = store
            .loyalty_due_for_expiry(day, after.as_ref(), EXPIRY_PAGE)
            .await?;
        let Some(last) = due.last() else { break };
        after = Some(last.clone());
        for id in &due {
            let applied: Vec<Applied> = store
                .post_points(
                    id,
                    Box::new(move |ledger: &mut CustomerLedger| Ok(ledger.expire(now))),
                    by,
                    now,
                )
                .await?
                .map_err(refused)?;
            if !applied.is_empty() {
                report.customers += 1;
            }
            for a in &applied {
                report.lots += 1;
                report.points += a.posting.total(sextant_loyalty::Account::Expired);
            }
        }
    }
    Ok(report)
}

/// Points outstanding that expire in one month, and what they are worth.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiabilityLine {
    /// YYYY-MM of the lots' last valid day.
    pub month: String,
    pub points: i64,
    pub value_minor: i64,
    pub lots: u64,
    pub customers: u64,
}

/// The bank's points liability for finance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiabilityReport {
    pub as_of: String,
    pub currency: String,
    pub points: i64,
    pub value_minor: i64,
    pub months: Vec<LiabilityLine>,
}

pub async fn liability(store: &dyn Store, now: DateTime<Utc>) -> Result<LiabilityReport> {
    let value = rules().value;
    let months: Vec<LiabilityMonth> = store.loyalty_liability(now.date_naive()).await?;
    let lines: Vec<LiabilityLine> = months
        .into_iter()
        .map(|m| LiabilityLine {
            value_minor: value.money_for(m.points),
            month: m.month,
            points: m.points,
            lots: m.lots,
            customers: m.customers,
        })
        .collect();
    let points = lines.iter().map(|l| l.points).sum();
    Ok(LiabilityReport {
        as_of: now.date_naive().to_string(),
        currency: value.currency.to_string(),
        points,
        value_minor: value.money_for(points),
        months: lines,
    })
}
