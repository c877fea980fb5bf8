//! Revealed willingness: what the customer's own investing says about their appetite for
//! risk, used only while no questionnaire is on record and always labelled provisional.
//!
//! It reads only behaviour that involves investment risk: the riskiest fund held, money
//! moved into investments, the share of assets in funds, and interest in fund pages. With no
//! such evidence the customer scores C1: advice must not assume an appetite nobody has shown.

use super::{tolerance, Score};
use crate::catalogue::F;
use crate::Features;

/// Points for each piece of evidence; the sum maps to a level through [`LEVEL_CUTS`].
const FUND_LEVEL_POINTS_MAX: u32 = 5;
const FLOW_POINTS_MAX: u32 = 3;
const SHARE_POINTS_MAX: u32 = 2;
const VIEW_POINTS_MAX: u32 = 2;
const MAX_POINTS: u32 =
    FUND_LEVEL_POINTS_MAX + FLOW_POINTS_MAX + SHARE_POINTS_MAX + VIEW_POINTS_MAX;
/// Points needed for C2..C5. Holding a fund of level L alone gives L points, so a fund holder
/// scores about one level below the fund until other evidence confirms the appetite.
const LEVEL_CUTS: [u32; 4] = [1, 3, 6, 9];

fn count_at_least(value: f64, limits: &[f64]) -> u32 {
    limits.iter().take_while(|&&limit| value >= limit).count() as u32
}

/// Revealed willingness from investment payments, fund holdings and fund views.
pub fn willingness_from_history(features: &Features) -> Score {
    let fund_level = features.at(F::FundRiskLevelMax).clamp(0.0, 5.0) as u32;
    let flow = count_at_least(features.at(F::InvestmentIncomeShare), &[1e-9, 0.05, 0.10]);
    let share = count_at_least(features.at(F::FundShareOfAssets), &[0.2, 0.5]);
    let views = count_at_least(features.at(F::FundViews90d), &[1.0, 5.0]);
    let points = fund_level + flow + share + views;
    let passed = LEVEL_CUTS.iter().take_while(|&&cut| points >= cut).count() as u8;
    // Never more appetite than the riskiest fund actually bought shows (C2 without funds):
    // interest and saving habits support a level, they do not raise it past real choices.
    let shown = (fund_level as u8).max(2);
    Score {
        points,
        max_points: MAX_POINTS,
        level: tolerance((1 + passed).min(shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::COUNT;

    fn features(set: &[(F, f64)]) -> Features {
        let mut values = vec![0.0; COUNT];
        for (f, v) in set {
            values[*f as usize] = *v;
        }
        Features {
            values,
            unconverted: Vec::new(),
        }
    }

    #[test]
    fn no_evidence_is_c1() {
        let score = willingness_from_history(&features(&[]));
        assert_eq!((score.points, score.level.get()), (0, 1));
        assert_eq!(score.max_points, 12);
    }

    #[test]
    fn evidence_raises_the_level() {
        let browsing = willingness_from_history(&features(&[(F::FundViews90d, 2.0)]));
        assert_eq!(browsing.level.get(), 2);
        let equity_investor = willingness_from_history(&features(&[
            (F::FundRiskLevelMax, 5.0),
            (F::InvestmentIncomeShare, 0.12),
            (F::FundShareOfAssets, 0.7),
            (F::FundViews90d, 6.0),
        ]));
        assert_eq!(equity_investor.points, 12);
        assert_eq!(equity_investor.level.get(), 5);
        let bond_holder = willingness_from_history(&features(&[
            (F::FundRiskLevelMax, 2.0),
            (F::FundShareOfAssets, 0.3),
        ]));
        assert_eq!(bond_holder.level.get(), 2, "capped at the fund's own level");
        let keen_browser = willingness_from_history(&features(&[
            (F::FundViews90d, 9.0),
            (F::InvestmentIncomeShare, 0.2),
        ]));
        assert_eq!(keen_browser.level.get(), 2, "no fund bought yet");
    }
}
