//! How the synthetic population spends its loyalty points. Points are earned when the
//! payments are imported (the rules run on them as on any payment); what customers then
//! spend is drawn here, from the customer's id and the seed alone, so a population
//! redeems the same way every time.
//!
//! The shape follows what European card programmes report: about half of members with a
//! worthwhile balance redeem in a year, most of them for money off a purchase at checkout,
//! some against a fee; those who redeem usually spend most of what they hold, in round
//! amounts.

/// What one redemption spends points on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemOn {
    Purchase,
    InstalmentFee,
}

/// A redemption the customer makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redemption {
    pub points: i64,
    pub on: RedeemOn,
}

/// The fewest spendable points anyone bothers to redeem (5 euros at a cent a point).
pub const MIN_REDEEMED: i64 = 500;
/// Share of customers over [`MIN_REDEEMED`] who redeem, in percent.
pub const REDEEMERS_PERCENT: u64 = 45;

/// What the customer `customer_id` redeems out of `spendable` points, if anything.
pub fn redemption(customer_id: &str, seed: u64, spendable: i64) -> Option<Redemption> {
    if spendable < MIN_REDEEMED {
        return None;
    }
    let draw = sextant_hash::fnv1a64(format!("{seed}:loyalty:{customer_id}").as_bytes());
    if draw % 100 >= REDEEMERS_PERCENT {
        return None;
    }
    // Half to all of the balance, in hundreds of points.
    let share_percent = 50 + (draw >> 8) % 51;
    let points = (spendable * share_percent as i64 / 100) / 100 * 100;
    let on = if (draw >> 16) % 100 < 70 {
        RedeemOn::Purchase
    } else {
        RedeemOn::InstalmentFee
    };
    (points >= MIN_REDEEMED.min(spendable)).then_some(Redemption { points, on })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_half_of_those_with_points_redeem_most_of_them() {
        let drawn: Vec<Option<Redemption>> = (0..2_000)
            .map(|i| redemption(&format!("c{i:05}"), 7, 2_000))
            .collect();
        let redeemers = drawn.iter().flatten().count();
        assert!((800..1_000).contains(&redeemers), "{redeemers} of 2000");
        for r in drawn.iter().flatten() {
            assert!(
                (1_000..=2_000).contains(&r.points) && r.points % 100 == 0,
                "{r:?}"
            );
        }
        let on_fees = drawn
            .iter()
            .flatten()
            .filter(|r| r.on == RedeemOn::InstalmentFee)
            .count();
        assert!(on_fees * 100 / redeemers < 40, "{on_fees} of {redeemers}");
        assert_eq!(redemption("c1", 7, 499), None, "too few points to bother");
        assert_eq!(
            redemption("c00001", 7, 2_000),
            redemption("c00001", 7, 2_000),
            "the same every time"
        );
    }
}
