//! Fairness of the decisions on record: approval rate by age band, with the
//! disparate-impact ratio (a band's approval rate over the most-approved band's; under 0.8
//! fails the "four-fifths" rule of thumb of US enforcement practice). Age is never a model
//! input; each decision records the applicant's age only to group the outcomes, and the
//! database counts them, so the report costs the same for 2,000 decisions as for millions.
//! Sextant does not collect sex at registration, so a report by sex needs a data file that
//! has it (`sextant credit fairness --data FILE --sex COLUMN`).

use serde::Serialize;
use sextant_store::{AgeOutcomeCount, DecisionFilter, Store};

use crate::Result;

/// Below this ratio a band is flagged.
pub const FOUR_FIFTHS: f64 = 0.8;
/// Bands with fewer decisions are shown but not flagged: their rates are noise.
pub const MIN_FLAG_DECISIONS: u64 = 30;
const BANDS: [(u32, u32, &str); 6] = [
    (0, 25, "18-24"),
    (25, 35, "25-34"),
    (35, 45, "35-44"),
    (45, 55, "45-54"),
    (55, 65, "55-64"),
    (65, u32::MAX, "65+"),
];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BandOutcome {
    pub band: &'static str,
    pub decisions: u64,
    pub approved: u64,
    pub approval_rate: Option<f64>,
    pub disparate_impact: Option<f64>,
    pub flagged: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FairnessReport {
    /// Decisions the filter selects.
    pub decisions: u64,
    /// Of those, decisions that recorded no age (none should).
    pub without_age: u64,
    pub by_age: Vec<BandOutcome>,
}

fn band_of(age: u32) -> usize {
    BANDS
        .iter()
        .position(|(lo, hi, _)| (*lo..*hi).contains(&age))
        .unwrap_or(BANDS.len() - 1)
}

/// The report over the decisions `filter` selects.
pub async fn by_age_band(store: &dyn Store, filter: &DecisionFilter) -> Result<FairnessReport> {
    Ok(report(&store.outcomes_by_age(filter).await?))
}

/// Groups counts by age and outcome into the bands.
pub fn report(counts: &[AgeOutcomeCount]) -> FairnessReport {
    let mut bands = [(0u64, 0u64); BANDS.len()];
    let (mut decisions, mut without_age) = (0u64, 0u64);
    for c in counts {
        decisions += c.decisions;
        match c.age_years {
            Some(age) => {
                let band = &mut bands[band_of(age)];
                band.0 += c.decisions;
                if c.outcome == "approved" {
                    band.1 += c.decisions;
                }
            }
            None => without_age += c.decisions,
        }
    }
    let rate = |(n, a): (u64, u64)| (n > 0).then(|| a as f64 / n as f64);
    let best = bands
        .iter()
        .filter(|(n, _)| *n >= MIN_FLAG_DECISIONS)
        .filter_map(|c| rate(*c))
        .fold(0.0, f64::max);
    let by_age = BANDS
        .iter()
        .zip(bands)
        .map(|((_, _, band), c)| {
            let approval_rate = rate(c);
            let disparate_impact = approval_rate.filter(|_| best > 0.0).map(|r| r / best);
            BandOutcome {
                band,
                decisions: c.0,
                approved: c.1,
                approval_rate,
                disparate_impact,
                flagged: c.0 >= MIN_FLAG_DECISIONS
                    && disparate_impact.is_some_and(|d| d < FOUR_FIFTHS),
            }
        })
        .collect();
    FairnessReport {
        decisions,
        without_age,
        by_age,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_fall_in_their_bands() {
        assert_eq!(BANDS[band_of(18)].2, "18-24");
        assert_eq!(BANDS[band_of(25)].2, "25-34");
        assert_eq!(BANDS[band_of(64)].2, "55-64");
        assert_eq!(BANDS[band_of(90)].2, "65+");
    }

    fn count(age: Option<u32>, outcome: &str, decisions: u64) -> AgeOutcomeCount {
        AgeOutcomeCount {
            age_years: age,
            outcome: outcome.into(),
            decisions,
        }
    }

    #[test]
    fn a_band_under_four_fifths_of_the_best_is_flagged() {
        let report = report(&[
            // 30-year-olds: 80 of 100 approved; 40-year-olds: 50 of 100 (0.625 of the best).
            count(Some(30), "approved", 80),
            count(Some(30), "declined", 20),
            count(Some(40), "approved", 50),
            count(Some(41), "declined", 50),
            // Too few to flag, however low the rate.
            count(Some(70), "declined", 10),
            count(None, "approved", 3),
        ]);
        assert_eq!((report.decisions, report.without_age), (213, 3));
        let band = |name: &str| report.by_age.iter().find(|b| b.band == name).unwrap();
        assert_eq!((band("25-34").decisions, band("25-34").approved), (100, 80));
        assert!(!band("25-34").flagged);
        assert_eq!(band("35-44").disparate_impact, Some(0.625));
        assert!(band("35-44").flagged);
        assert_eq!(band("65+").approval_rate, Some(0.0));
        assert!(!band("65+").flagged, "10 decisions are too few to flag");
        assert_eq!(band("18-24").approval_rate, None);
    }
}
