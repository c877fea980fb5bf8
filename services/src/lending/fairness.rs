//! Fairness of the decisions on record: approval rate by age band, with the
//! disparate-impact ratio (a band's approval rate over the most-approved band's; under 0.8
//! fails the "four-fifths" rule of thumb of US enforcement practice). Age is never a model
//! input; it is read from each decision's recorded applicant only to group the outcomes.
//! Sextant does not collect sex at registration, so a report by sex needs a data file that
//! has it (`sextant credit fairness --data FILE --sex COLUMN`).

use serde::Serialize;
use sextant_store::{DecisionFilter, Store, PAGE_MAX};

use crate::Result;

/// Below this ratio a band is flagged.
pub const FOUR_FIFTHS: f64 = 0.8;
/// Bands with fewer decisions are shown but not flagged: their rates are noise.
pub const MIN_FLAG_DECISIONS: u64 = 30;
/// Decisions read at most, newest first: bounds the report's cost.
pub const MAX_DECISIONS: u64 = 50_000;

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
    pub decisions_read: u64,
    /// Decisions whose recorded inputs name no age (none should).
    pub without_age: u64,
    pub by_age: Vec<BandOutcome>,
    pub truncated: bool,
}

fn band_of(age: u32) -> usize {
    BANDS
        .iter()
        .position(|(lo, hi, _)| (*lo..*hi).contains(&age))
        .unwrap_or(BANDS.len() - 1)
}

/// The report over the decisions `filter` selects (newest first, at most
/// [`MAX_DECISIONS`]).
pub async fn by_age_band(store: &dyn Store, filter: &DecisionFilter) -> Result<FairnessReport> {
    let mut counts = [(0u64, 0u64); BANDS.len()];
    let (mut read, mut without_age, mut offset) = (0u64, 0u64, 0u64);
    let mut truncated = false;
    loop {
        let (page, total) = store
            .search_credit_decisions(filter, offset, PAGE_MAX)
            .await?;
        for d in &page {
            read += 1;
            let age = d
                .inputs
                .pointer("/applicant/age_years")
                .and_then(serde_json::Value::as_u64);
            match age {
                Some(age) => {
                    let band = &mut counts[band_of(u32::try_from(age).unwrap_or(u32::MAX))];
                    band.0 += 1;
                    band.1 += u64::from(d.outcome == "approved");
                }
                None => without_age += 1,
            }
        }
        offset += page.len() as u64;
        if page.is_empty() || offset >= total {
            break;
        }
        if offset >= MAX_DECISIONS {
            truncated = true;
            break;
        }
    }
    let rate = |(n, a): (u64, u64)| (n > 0).then(|| a as f64 / n as f64);
    let best = counts
        .iter()
        .filter(|(n, _)| *n >= MIN_FLAG_DECISIONS)
        .filter_map(|c| rate(*c))
        .fold(0.0, f64::max);
    let by_age = BANDS
        .iter()
        .zip(counts)
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
    Ok(FairnessReport {
        decisions_read: read,
        without_age,
        by_age,
        truncated,
    })
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
}
