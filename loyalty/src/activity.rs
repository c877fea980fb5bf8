//! A customer's points over a window, as profiling reads them: the balance before the
//! window and every posting in it (its time, kind and change to the customer's balance).

use chrono::{DateTime, Utc};

use crate::PostingKind;

/// One posting, reduced to what profiles read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Movement {
    pub at: DateTime<Utc>,
    pub kind: PostingKind,
    /// Points into (positive) or out of the customer's balance.
    pub points: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// The balance before the first movement.
    pub opening: i64,
    /// Oldest first.
    pub movements: Vec<Movement>,
}

impl Activity {
    /// The balance at `at` (movements after it not counted).
    pub fn balance_at(&self, at: DateTime<Utc>) -> i64 {
        self.opening
            + self
                .movements
                .iter()
                .filter(|m| m.at <= at)
                .map(|m| m.points)
                .sum::<i64>()
    }

    fn net(&self, kinds: &[PostingKind], from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.movements
            .iter()
            .filter(|m| m.at > from && m.at <= to && kinds.contains(&m.kind))
            .map(|m| m.points)
            .sum()
    }

    /// Points earned (on purchases and campaign bonuses) after `from` up to `to`, less what
    /// refunds took back.
    pub fn earned(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let kinds = [
            PostingKind::Earn,
            PostingKind::Bonus,
            PostingKind::ReverseEarn,
        ];
        self.net(&kinds, from, to)
    }

    /// Points spent after `from` up to `to`, less reversed redemptions.
    pub fn redeemed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        -self.net(&[PostingKind::Redeem, PostingKind::ReverseRedeem], from, to)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn balance_earned_and_redeemed_over_a_window() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let at = |d: i64| t0 + Duration::days(d);
        let m = |d, kind, points| Movement {
            at: at(d),
            kind,
            points,
        };
        let activity = Activity {
            opening: 500,
            movements: vec![
                m(1, PostingKind::Earn, 100),
                m(2, PostingKind::Redeem, -300),
                m(3, PostingKind::ReverseEarn, -40),
                m(4, PostingKind::ReverseRedeem, 100),
                m(5, PostingKind::Expire, -50),
                m(9, PostingKind::Earn, 70),
            ],
        };
        assert_eq!(activity.balance_at(at(5)), 500 + 100 - 300 - 40 + 100 - 50);
        assert_eq!(activity.balance_at(at(9)), 380);
        assert_eq!(activity.earned(at(0), at(5)), 60);
        assert_eq!(activity.redeemed(at(0), at(5)), 200);
        assert_eq!(
            activity.earned(at(1), at(9)),
            30,
            "after `from`, up to `to`"
        );
    }
}
