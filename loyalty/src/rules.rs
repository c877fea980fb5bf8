//! The earning rules, versioned like the feature catalogue: what a payment earns, and what
//! a point is worth.
//!
//! Only completed card and online purchases earn: refunds, transfers (to oneself or anyone),
//! cash withdrawals, bills, repayments and investments do not. A purchase earns
//! `points_per_unit` for each unit of the rules' currency (1 per euro by default), times the
//! multiplier of its merchant category, its channel, a partner merchant, any campaign boost
//! in force, and the customer's tier (from their rolling 12-month spend), rounded down, then
//! capped per day and per month. Every multiplier is in basis points (10,000 = 1x) and the
//! arithmetic is in integers, so the same payment always earns the same points.

use chrono::{Datelike, NaiveDate};
use sextant_domain::{Channel, Currency, Direction, PaymentEvent, PaymentKind, PaymentStatus};

/// 1x, in basis points.
pub const ONE_X: u32 = 10_000;

/// A customer tier: from this 12-month spend (minor units of the rules' currency) up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub name: String,
    pub min_spend_12m_minor: i64,
    pub multiplier_bp: u32,
}

/// A multiplier for MCCs `first..=last` (a category of merchants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryMultiplier {
    pub name: String,
    pub first_mcc: u16,
    pub last_mcc: u16,
    pub multiplier_bp: u32,
}

/// A campaign's boost: purchases at `merchant` (or any merchant when none) from `from` to
/// `to` (inclusive) earn `multiplier_bp` more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boost {
    pub campaign: String,
    pub merchant: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub multiplier_bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningRules {
    pub version: String,
    /// The currency amounts, tiers and the point value are in.
    pub currency: Currency,
    /// Points per unit of `currency`, in hundredths (100: one point per euro).
    pub points_per_unit_hundredths: u32,
    pub categories: Vec<CategoryMultiplier>,
    pub channels: Vec<(Channel, u32)>,
    /// Partner merchants (by id) and their multiplier.
    pub merchants: Vec<(String, u32)>,
    pub boosts: Vec<Boost>,
    /// Ascending by `min_spend_12m_minor`, the first from 0.
    pub tiers: Vec<Tier>,
    pub cap_per_day: i64,
    pub cap_per_month: i64,
    /// Earned points can be spent to the end of the month this many months after the month
    /// they were earned.
    pub expiry_months: u32,
    /// What a point is worth when spent.
    pub value: PointValue,
}

/// The published value of a point: `minor_per_100_points` minor units of `currency` per
/// hundred points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointValue {
    pub currency: Currency,
    pub minor_per_100_points: i64,
}

impl PointValue {
    /// The exact money `points` are worth, in minor units (rounded down: a fraction of a
    /// cent is never paid).
    pub fn money_for(&self, points: i64) -> i64 {
        (i128::from(points) * i128::from(self.minor_per_100_points) / 100) as i64
    }

    /// The fewest points worth at least `amount_minor`.
    pub fn points_for(&self, amount_minor: i64) -> i64 {
        let per = i128::from(self.minor_per_100_points);
        ((i128::from(amount_minor) * 100 + per - 1) / per) as i64
    }
}

/// What the customer has earned lately and spent in a year: the caps and the tier read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EarnContext {
    /// Spending over the 12 months to the payment, in minor units of the rules' currency.
    pub spend_12m_minor: i64,
    /// Points already earned on the payment's day and in its calendar month.
    pub earned_today: i64,
    pub earned_this_month: i64,
}

/// Why a payment earns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPoints {
    /// Failed payments earn nothing.
    NotCompleted,
    /// Only purchases earn: refunds, transfers, cash, bills, repayments and investments
    /// do not.
    NotAPurchase(PaymentKind),
    /// The daily or monthly cap is reached.
    CapReached,
    /// The amount earns less than one point.
    BelowOnePoint,
}

impl NoPoints {
    pub fn code(&self) -> &'static str {
        match self {
            NoPoints::NotCompleted => "not_completed",
            NoPoints::NotAPurchase(_) => "not_a_purchase",
            NoPoints::CapReached => "cap_reached",
            NoPoints::BelowOnePoint => "below_one_point",
        }
    }
}

/// What a purchase earns, and why that much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    pub points: i64,
    /// Before the caps.
    pub uncapped: i64,
    pub tier: String,
    /// Every multiplier applied, combined, in basis points.
    pub multiplier_bp: u64,
    pub rules_version: String,
    /// The last day the points can be spent.
    pub expires_on: NaiveDate,
}

impl EarningRules {
    /// The tier of a 12-month spend.
    pub fn tier(&self, spend_12m_minor: i64) -> &Tier {
        self.tiers
            .iter()
            .rev()
            .find(|t| spend_12m_minor >= t.min_spend_12m_minor)
            .unwrap_or(&self.tiers[0])
    }

    /// What `payment` earns, its amount being `amount_minor` in the rules' currency
    /// (converted by the caller when the payment was in another).
    pub fn earn(
        &self,
        payment: &PaymentEvent,
        amount_minor: i64,
        context: &EarnContext,
    ) -> Result<Earning, NoPoints> {
        if payment.status != PaymentStatus::Completed {
            return Err(NoPoints::NotCompleted);
        }
        if payment.kind != PaymentKind::Purchase || payment.direction != Direction::Debit {
            return Err(NoPoints::NotAPurchase(payment.kind));
        }
        let day = payment.occurred_at.date_naive();
        let tier = self.tier(context.spend_12m_minor);
        let mut multipliers: Vec<u32> = vec![tier.multiplier_bp];
        if let Some(mcc) = payment.mcc {
            let code = mcc.get();
            if let Some(c) = self
                .categories
                .iter()
                .find(|c| (c.first_mcc..=c.last_mcc).contains(&code))
            {
                multipliers.push(c.multiplier_bp);
            }
        }
        if let Some((_, bp)) = self.channels.iter().find(|(c, _)| *c == payment.channel) {
            multipliers.push(*bp);
        }
        let merchant = payment.merchant_id.as_ref().map(|m| m.as_str());
        if let Some((_, bp)) = self
            .merchants
            .iter()
            .find(|(m, _)| Some(m.as_str()) == merchant)
        {
            multipliers.push(*bp);
        }
        for boost in &self.boosts {
            let at_merchant = boost
                .merchant
                .as_deref()
                .is_none_or(|m| Some(m) == merchant);
            if at_merchant && (boost.from..=boost.to).contains(&day) {
                multipliers.push(boost.multiplier_bp);
            }
        }
        // amount / 10^digits units x points per unit / 100 x each multiplier / 10,000, as
        // one integer fraction, rounded down.
        let mut numerator = i128::from(amount_minor) * i128::from(self.points_per_unit_hundredths);
        let mut denominator = 10i128.pow(u32::from(self.currency.minor_digits())) * 100;
        let mut combined: u64 = u64::from(ONE_X);
        for m in &multipliers {
            numerator *= i128::from(*m);
            denominator *= i128::from(ONE_X);
            combined = combined * u64::from(*m) / u64::from(ONE_X);
        }
        let uncapped = i64::try_from(numerator / denominator).unwrap_or(i64::MAX);
        if uncapped < 1 {
            return Err(NoPoints::BelowOnePoint);
        }
        let room = (self.cap_per_day - context.earned_today)
            .min(self.cap_per_month - context.earned_this_month)
            .max(0);
        let points = uncapped.min(room);
        if points < 1 {
            return Err(NoPoints::CapReached);
        }
        Ok(Earning {
            points,
            uncapped,
            tier: tier.name.clone(),
            multiplier_bp: combined,
            rules_version: self.version.clone(),
            expires_on: self.expires_on(day),
        })
    }

    /// The last day points earned on `day` can be spent: the end of the month
    /// `expiry_months` after `day`'s month (points earned in March 2026 last to the end of
    /// March 2028). A month's points lapse together, so they can be held in one lot.
    pub fn expires_on(&self, day: NaiveDate) -> NaiveDate {
        day.with_day(1)
            .and_then(|first| first.checked_add_months(chrono::Months::new(self.expiry_months + 1)))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }
}

impl Default for EarningRules {
    /// `loyalty-rules-2026.2`, in euros (2026.1 expired points on the day, 2026.2 at the end
    /// of the month). Why these numbers:
    ///
    /// - One point per euro, a point worth one cent: 1% back, the usual rate of European
    ///   debit-card programmes (interchange is capped at 0.2% for debit, so the bank funds
    ///   the rest from the relationship, not the payment).
    /// - Double on groceries (the everyday basket the programme rewards), triple on airlines
    ///   and hotels (the partners' share), half on fuel (thin margins); online and in-store
    ///   alike, 1.5x abroad.
    /// - Tiers from spend over 12 months: Blue from zero, Silver from 6,000 euros (1.25x),
    ///   Gold from 15,000 euros (1.5x).
    /// - At most 500 points a day and 3,000 a month: one big purchase cannot drain the
    ///   budget, and card-testing fraud earns little.
    /// - Points last 24 months, to the end of the month (the usual statement wording, and a
    ///   month's points lapse together).
    fn default() -> EarningRules {
        let category = |name: &str, first_mcc, last_mcc, multiplier_bp| CategoryMultiplier {
            name: name.to_owned(),
            first_mcc,
            last_mcc,
            multiplier_bp,
        };
        let tier = |name: &str, min_spend_12m_minor, multiplier_bp| Tier {
            name: name.to_owned(),
            min_spend_12m_minor,
            multiplier_bp,
        };
        EarningRules {
            version: "loyalty-rules-2026.2".to_owned(),
            currency: Currency::EUR,
            points_per_unit_hundredths: 100,
            categories: vec![
                category("groceries", 5411, 5499, 20_000),
                category("airlines", 3000, 3299, 30_000),
                category("air travel", 4511, 4511, 30_000),
                category("hotels", 3500, 3999, 30_000),
                category("lodging", 7011, 7011, 30_000),
                category("fuel", 5541, 5542, 5_000),
            ],
            channels: vec![(Channel::CrossBorder, 15_000)],
            merchants: Vec::new(),
            boosts: Vec::new(),
            tiers: vec![
                tier("blue", 0, ONE_X),
                tier("silver", 600_000, 12_500),
                tier("gold", 1_500_000, 15_000),
            ],
            cap_per_day: 500,
            cap_per_month: 3_000,
            expiry_months: 24,
            value: PointValue {
                currency: Currency::EUR,
                minor_per_100_points: 100,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use sextant_domain::{AmountMinor, CountryCode, CustomerId, EventId, Mcc, MerchantId};

    use super::*;

    fn purchase(amount_minor: i64, mcc: &str, channel: Channel) -> PaymentEvent {
        PaymentEvent {
            event_id: EventId::parse("p1").unwrap(),
            customer_id: CustomerId::parse("c1").unwrap(),
            occurred_at: Utc.with_ymd_and_hms(2026, 3, 6, 12, 0, 0).unwrap(),
            amount: AmountMinor::new(amount_minor).unwrap(),
            currency: Currency::EUR,
            direction: Direction::Debit,
            kind: PaymentKind::Purchase,
            channel,
            merchant_id: Some(MerchantId::parse("m-1").unwrap()),
            mcc: Some(Mcc::parse(mcc).unwrap()),
            country: CountryCode::parse("CZ").unwrap(),
            card: None,
            status: PaymentStatus::Completed,
            balance_after_minor: None,
            counterparty: None,
            device_id: None,
            refund_of: None,
        }
    }

    #[test]
    fn purchases_earn_by_category_channel_tier_and_caps() {
        let rules = EarningRules::default();
        let none = EarnContext::default();
        // 45.99 EUR of groceries in a shop: 45.99 x 2 = 91.98, rounded down.
        let groceries = purchase(4_599, "5411", Channel::InStore);
        assert_eq!(rules.earn(&groceries, 4_599, &none).unwrap().points, 91);
        // A gold customer abroad: 100 EUR of clothes x 1.5 x 1.5 = 225.
        let gold = EarnContext {
            spend_12m_minor: 2_000_000,
            ..EarnContext::default()
        };
        let abroad = purchase(10_000, "5651", Channel::CrossBorder);
        let earned = rules.earn(&abroad, 10_000, &gold).unwrap();
        assert_eq!((earned.points, earned.tier.as_str()), (225, "gold"));
        assert_eq!(earned.multiplier_bp, 22_500);
        // Earned in March 2026: spendable to the end of March 2028.
        assert_eq!(
            earned.expires_on,
            NaiveDate::from_ymd_opt(2028, 3, 31).unwrap()
        );
        let december = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(
            rules.expires_on(december),
            NaiveDate::from_ymd_opt(2028, 12, 31).unwrap()
        );
        // The day's cap: 480 already earned today leaves room for 20.
        let near_cap = EarnContext {
            earned_today: 480,
            ..EarnContext::default()
        };
        let capped = rules.earn(&groceries, 4_599, &near_cap).unwrap();
        assert_eq!((capped.points, capped.uncapped), (20, 91));
        let full = EarnContext {
            earned_this_month: 3_000,
            ..EarnContext::default()
        };
        assert_eq!(
            rules.earn(&groceries, 4_599, &full),
            Err(NoPoints::CapReached)
        );
        assert_eq!(
            rules.earn(&purchase(99, "5651", Channel::InStore), 99, &none),
            Err(NoPoints::BelowOnePoint)
        );
    }

    #[test]
    fn refunds_transfers_cash_and_failures_earn_nothing() {
        let rules = EarningRules::default();
        let none = EarnContext::default();
        for kind in [
            PaymentKind::Atm,
            PaymentKind::TransferOut,
            PaymentKind::Bill,
        ] {
            let mut p = purchase(10_000, "5411", Channel::InStore);
            p.kind = kind;
            assert_eq!(
                rules.earn(&p, 10_000, &none),
                Err(NoPoints::NotAPurchase(kind))
            );
        }
        let mut refund = purchase(10_000, "5411", Channel::InStore);
        refund.kind = PaymentKind::Refund;
        refund.direction = Direction::Credit;
        assert_eq!(
            rules.earn(&refund, 10_000, &none),
            Err(NoPoints::NotAPurchase(PaymentKind::Refund))
        );
        let mut failed = purchase(10_000, "5411", Channel::InStore);
        failed.status = PaymentStatus::Failed;
        assert_eq!(
            rules.earn(&failed, 10_000, &none),
            Err(NoPoints::NotCompleted)
        );
    }

    #[test]
    fn a_campaign_boost_applies_in_its_window_at_its_merchant() {
        let mut rules = EarningRules::default();
        let day = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
        rules.boosts.push(Boost {
            campaign: "spring-shoes".into(),
            merchant: Some("m-1".into()),
            from: day,
            to: day,
            multiplier_bp: 30_000,
        });
        let p = purchase(10_000, "5651", Channel::InStore);
        assert_eq!(
            rules
                .earn(&p, 10_000, &EarnContext::default())
                .unwrap()
                .points,
            300
        );
        let mut elsewhere = p.clone();
        elsewhere.merchant_id = Some(MerchantId::parse("m-2").unwrap());
        assert_eq!(
            rules
                .earn(&elsewhere, 10_000, &EarnContext::default())
                .unwrap()
                .points,
            100
        );
    }

    #[test]
    fn a_point_is_worth_a_cent_exactly() {
        let value = EarningRules::default().value;
        assert_eq!(value.money_for(1_234), 1_234);
        assert_eq!(value.points_for(1_234), 1_234);
        let half = PointValue {
            currency: Currency::EUR,
            minor_per_100_points: 50,
        };
        assert_eq!(half.money_for(3), 1, "1.5 cents pays 1");
        assert_eq!(half.points_for(1), 2);
    }
}
