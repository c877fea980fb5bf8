//! Loyalty features: points held, earned and spent over the year, and the tier the year's
//! spending reaches under the earning rules in force.

use chrono::{DateTime, Duration, Utc};
use sextant_domain::{PaymentKind, PaymentStatus};
use sextant_loyalty::{EarningRules, Spend, SpendHistory};

use super::clock::Clock;
use super::{CustomerHistory, Values};
use crate::catalogue::F;

/// The tier's rank (0 = the first) the year to `as_of` reaches: completed purchases less
/// refunds, each in the rules' currency at its own day's rate (one without a rate left
/// out), exactly as earning reads it.
fn tier_rank(history: &CustomerHistory, clock: &Clock, rules: &EarningRules) -> usize {
    let spend: Vec<Spend> = history
        .payments
        .iter()
        .filter(|p| {
            p.status == PaymentStatus::Completed
                && matches!(p.kind, PaymentKind::Purchase | PaymentKind::Refund)
                && clock.in_365d(p.occurred_at.timestamp_millis())
        })
        .map(|p| Spend {
            event_id: p.event_id.as_str().to_owned(),
            at: p.occurred_at,
            amount: history
                .rates
                .convert(
                    p.amount.get(),
                    p.currency,
                    rules.currency,
                    p.occurred_at.date_naive(),
                )
                .ok(),
            refund: p.kind == PaymentKind::Refund,
        })
        .collect();
    let year = SpendHistory::new(spend).spend_before(clock.as_of() + Duration::milliseconds(1));
    let tier = rules.tier(year);
    rules
        .tiers
        .iter()
        .position(|t| t.name == tier.name)
        .unwrap_or(0)
}

pub(crate) fn write(
    history: &CustomerHistory,
    clock: &Clock,
    as_of: DateTime<Utc>,
    values: &mut Values,
) {
    let rules = EarningRules::default();
    let year_ago = as_of - Duration::days(365);
    let points = history.loyalty;
    values.set(F::LoyaltyPointsBalance, points.balance_at(as_of) as f64);
    values.set(
        F::LoyaltyPointsEarned365d,
        points.earned(year_ago, as_of) as f64,
    );
    values.set(
        F::LoyaltyPointsRedeemed365d,
        points.redeemed(year_ago, as_of) as f64,
    );
    values.set(F::LoyaltyTier, tier_rank(history, clock, &rules) as f64);
}
