//! Earning on payments: the rules run on each new payment of a customer, in the order they
//! happened, against their ledger.
//!
//! - A purchase earns under the rules, its tier read from the customer's spend over the 365
//!   days before it, the caps from the points earned on its day and in its month. Its key is
//!   `earn:<event id>`, so a payment sent or imported again never earns twice. The payments
//!   of one call that expire on the same day are one accrual posting (and one lot), each
//!   payment an item of it: a batch writes a few rows per customer, not two per purchase.
//! - A refund (or chargeback) naming the purchase it gives back reverses that purchase's
//!   points in proportion to the money returned (rounded up: the bank never leaves points
//!   for money it gave back), under `refund:<event id>`. Points already spent cannot be
//!   taken: the reversal takes what is there and records the shortfall; the balance
//!   reaches zero, never below.
//! - Transfers, cash, bills, repayments, investments, failed payments and refunds of
//!   purchases that earned nothing earn and reverse nothing, each with its reason.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sextant_domain::{PaymentEvent, PaymentKind, PaymentStatus};

use crate::{CustomerLedger, EarnContext, EarningRules, Item, LedgerError, PostingKind};

/// Days of spending a tier reads.
pub const TIER_WINDOW_DAYS: i64 = 365;

/// The posting key of what payment `event` earned.
pub fn earning_key(event: &str) -> String {
    format!("earn:{event}")
}

/// The posting key of what refund `event` took back.
pub fn refund_key(event: &str) -> String {
    format!("refund:{event}")
}

/// A stored purchase or refund, as tiers and partial refunds read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    pub event_id: String,
    pub at: DateTime<Utc>,
    /// In the rules' currency; `None` when it could not be converted (left out of sums).
    pub amount: Option<i64>,
    /// A refund: money back, subtracted from spend.
    pub refund: bool,
}

/// A customer's purchases and refunds over a period, oldest first.
#[derive(Debug, Clone, Default)]
pub struct SpendHistory {
    records: Vec<Spend>,
    /// Running sum of signed amounts: `prefix[i]` is the sum of the first `i` records.
    prefix: Vec<i64>,
    by_id: HashMap<String, usize>,
}

impl SpendHistory {
    pub fn new(mut records: Vec<Spend>) -> SpendHistory {
        records.sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
        records.dedup_by(|a, b| a.event_id == b.event_id);
        let mut prefix = Vec::with_capacity(records.len() + 1);
        prefix.push(0i64);
        let mut sum = 0i64;
        for r in &records {
            let signed = r.amount.unwrap_or(0);
            sum = sum.saturating_add(if r.refund { -signed } else { signed });
            prefix.push(sum);
        }
        let by_id = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.event_id.clone(), i))
            .collect();
        SpendHistory {
            records,
            prefix,
            by_id,
        }
    }

    /// Purchases less refunds in the [`TIER_WINDOW_DAYS`] before `at` (not counting `at`
    /// itself), never below zero.
    pub fn spend_before(&self, at: DateTime<Utc>) -> i64 {
        let from = at - Duration::days(TIER_WINDOW_DAYS);
        let first = self.records.partition_point(|r| r.at < from);
        let end = self.records.partition_point(|r| r.at < at);
        if end <= first {
            return 0;
        }
        (self.prefix[end] - self.prefix[first]).max(0)
    }

    /// The amount of a stored purchase or refund, in the rules' currency.
    pub fn amount_of(&self, event: &str) -> Option<i64> {
        self.by_id.get(event).and_then(|&i| self.records[i].amount)
    }
}

/// What one payment did to the customer's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Earned {
        points: i64,
        uncapped: i64,
    },
    Reversed {
        points: i64,
        shortfall: i64,
    },
    /// Its posting was already in the journal (the payment came again).
    AlreadyPosted,
    /// Nothing, and why: a [`crate::NoPoints`] code, `exchange_rate_missing`,
    /// `refund_without_purchase`, `no_points_to_reverse` or `already_reversed`.
    Nothing(&'static str),
}

/// The points earned per day and per calendar month, from the journal's earnings.
struct Earned {
    by_day: HashMap<NaiveDate, i64>,
    by_month: HashMap<(i32, u32), i64>,
}

impl Earned {
    fn of(ledger: &CustomerLedger) -> Earned {
        let mut earned = Earned {
            by_day: HashMap::new(),
            by_month: HashMap::new(),
        };
        for p in ledger.journal() {
            if p.kind != PostingKind::Earn {
                continue;
            }
            if p.items.is_empty() {
                earned.add(p.at.date_naive(), p.requested);
            }
            for item in &p.items {
                earned.add(item.at.date_naive(), item.points);
            }
        }
        earned
    }

    fn add(&mut self, day: NaiveDate, points: i64) {
        *self.by_day.entry(day).or_default() += points;
        *self.by_month.entry((day.year(), day.month())).or_default() += points;
    }

    fn on(&self, day: NaiveDate) -> (i64, i64) {
        (
            self.by_day.get(&day).copied().unwrap_or(0),
            self.by_month
                .get(&(day.year(), day.month()))
                .copied()
                .unwrap_or(0),
        )
    }
}

/// Runs the rules on `payments` (one customer's, any order: taken oldest first) against
/// `ledger`. `history` holds the customer's stored purchases and refunds from
/// [`TIER_WINDOW_DAYS`] before the first payment; `in_rules_currency` converts a payment's
/// amount to the rules' currency at its own day (`None` without a rate).
pub fn earn_on_payments(
    ledger: &mut CustomerLedger,
    rules: &EarningRules,
    history: &SpendHistory,
    payments: &[&PaymentEvent],
    in_rules_currency: impl Fn(&PaymentEvent) -> Option<i64>,
) -> Result<Vec<(String, Outcome)>, LedgerError> {
    let mut order: Vec<&PaymentEvent> = payments.to_vec();
    order.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
    let mut earned = Earned::of(ledger);
    let mut pending = Pending::default();
    let mut outcomes = Vec::with_capacity(order.len());
    let mut seen = HashSet::with_capacity(order.len());
    for p in order {
        let outcome = match p.kind {
            // The same payment twice in one call: once is enough.
            _ if !seen.insert(p.event_id.as_str()) => Outcome::AlreadyPosted,
            PaymentKind::Refund => {
                // A refund reads the journal as it stands: post what is pending first.
                pending.post(ledger, rules)?;
                refund(ledger, history, p, &in_rules_currency)?
            }
            _ => earn(
                ledger,
                rules,
                history,
                &mut earned,
                &mut pending,
                p,
                &in_rules_currency,
            )?,
        };
        outcomes.push((p.event_id.as_str().to_owned(), outcome));
    }
    pending.post(ledger, rules)?;
    Ok(outcomes)
}

/// Earnings worked out and not yet posted, by the day their points expire.
#[derive(Default)]
struct Pending {
    by_expiry: BTreeMap<NaiveDate, Vec<Item>>,
    /// How points were reached, by tier and multiplier: written once, copied per item.
    whys: Vec<(String, u64, String)>,
}

impl Pending {
    fn why(&mut self, earning: &crate::Earning) -> String {
        let mut why = match self
            .whys
            .iter()
            .find(|(tier, bp, _)| *bp == earning.multiplier_bp && *tier == earning.tier)
        {
            Some((_, _, why)) => why.clone(),
            None => {
                let why = format!(
                    "{} tier, x{}.{:02}",
                    earning.tier,
                    earning.multiplier_bp / 10_000,
                    earning.multiplier_bp % 10_000 / 100,
                );
                self.whys
                    .push((earning.tier.clone(), earning.multiplier_bp, why.clone()));
                why
            }
        };
        if earning.points < earning.uncapped {
            why.push_str(&format!(", capped from {}", earning.uncapped));
        }
        why
    }

    /// One accrual per expiry day.
    fn post(
        &mut self,
        ledger: &mut CustomerLedger,
        rules: &EarningRules,
    ) -> Result<(), LedgerError> {
        for (expires_on, items) in std::mem::take(&mut self.by_expiry) {
            ledger.accrue(expires_on, items, Some(rules.version.clone()))?;
        }
        Ok(())
    }
}

fn earn(
    ledger: &mut CustomerLedger,
    rules: &EarningRules,
    history: &SpendHistory,
    earned: &mut Earned,
    pending: &mut Pending,
    p: &PaymentEvent,
    in_rules_currency: &impl Fn(&PaymentEvent) -> Option<i64>,
) -> Result<Outcome, LedgerError> {
    let key = earning_key(p.event_id.as_str());
    if ledger.is_posted(&key) {
        return Ok(Outcome::AlreadyPosted);
    }
    if p.status != PaymentStatus::Completed {
        return Ok(Outcome::Nothing(crate::NoPoints::NotCompleted.code()));
    }
    if p.kind != PaymentKind::Purchase {
        return Ok(Outcome::Nothing(
            crate::NoPoints::NotAPurchase(p.kind).code(),
        ));
    }
    let Some(amount) = in_rules_currency(p) else {
        return Ok(Outcome::Nothing("exchange_rate_missing"));
    };
    let day = p.occurred_at.date_naive();
    let (earned_today, earned_this_month) = earned.on(day);
    let context = EarnContext {
        spend_12m_minor: history.spend_before(p.occurred_at),
        earned_today,
        earned_this_month,
    };
    let earning = match rules.earn(p, amount, &context) {
        Ok(e) => e,
        Err(none) => return Ok(Outcome::Nothing(none.code())),
    };
    // The rules' version goes on the accrual; each item says how its points were reached.
    let why = pending.why(&earning);
    pending
        .by_expiry
        .entry(earning.expires_on)
        .or_default()
        .push(Item {
            key,
            at: p.occurred_at,
            points: earning.points,
            why,
        });
    earned.add(day, earning.points);
    Ok(Outcome::Earned {
        points: earning.points,
        uncapped: earning.uncapped,
    })
}

fn refund(
    ledger: &mut CustomerLedger,
    history: &SpendHistory,
    p: &PaymentEvent,
    in_rules_currency: &impl Fn(&PaymentEvent) -> Option<i64>,
) -> Result<Outcome, LedgerError> {
    let key = refund_key(p.event_id.as_str());
    if ledger.is_posted(&key) {
        return Ok(Outcome::AlreadyPosted);
    }
    if p.status != PaymentStatus::Completed {
        return Ok(Outcome::Nothing(crate::NoPoints::NotCompleted.code()));
    }
    let Some(original) = &p.refund_of else {
        return Ok(Outcome::Nothing("refund_without_purchase"));
    };
    let earning = earning_key(original.as_str());
    let Some(earned) = ledger.earned(&earning) else {
        return Ok(Outcome::Nothing("no_points_to_reverse"));
    };
    // In proportion to the money given back, rounded up; all of it when either amount is
    // unknown (the purchase is older than the history read, or has no rate).
    let points = match (in_rules_currency(p), history.amount_of(original.as_str())) {
        (Some(back), Some(paid)) if paid > 0 && back < paid => {
            let share =
                (i128::from(earned) * i128::from(back) + i128::from(paid) - 1) / i128::from(paid);
            (share as i64).max(1)
        }
        _ => earned,
    };
    match ledger.reverse_earning_part(&key, &earning, p.occurred_at, points) {
        Ok(applied) => Ok(Outcome::Reversed {
            points: applied.posting.requested - applied.posting.shortfall,
            shortfall: applied.posting.shortfall,
        }),
        Err(LedgerError::AlreadyReversed { .. }) => Ok(Outcome::Nothing("already_reversed")),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
