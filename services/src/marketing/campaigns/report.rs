//! A campaign's report: reach and conversion per arm, the absolute uplift with its 95%
//! interval (Newcombe's hybrid score), and the Qini curve over the members ordered by their
//! launch score.

use std::collections::HashMap;

use serde::Serialize;
use sextant_marketing::holdout::Arm;
use sextant_marketing::uplift::{self, ArmCounts};
use utoipa::ToSchema;

use crate::{Context, Result};

/// Points of the Qini curve in a report.
pub const QINI_POINTS: usize = 10;

/// Counts per arm in a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmReport {
    pub customers: u64,
    /// Customers with a `sent` or `delivered` event.
    pub reached: u64,
    pub conversions: u64,
    pub conversion_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpliftView {
    /// Treatment conversion rate minus holdout conversion rate.
    pub absolute: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub confidence: f64,
    pub method: String,
    pub relative: Option<f64>,
    pub p_value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QiniPointView {
    pub targeted_fraction: f64,
    pub treated: u64,
    pub holdout: u64,
    pub incremental_conversions: f64,
    pub random_incremental: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignReport {
    pub campaign_id: String,
    pub status: String,
    pub treatment: ArmReport,
    pub holdout: ArmReport,
    /// Absent until both arms have customers.
    pub uplift: Option<UpliftView>,
    /// Members ordered by their launch score; incremental conversions of the top fraction.
    pub qini: Vec<QiniPointView>,
    pub qini_coefficient: Option<f64>,
    /// Cumulative conversion rate of each arm by day since the launch (absent before it).
    pub conversions_by_day: Vec<ConversionDayView>,
}

/// Conversions up to the end of `day` days after the launch, as a share of each arm.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversionDayView {
    pub day: u32,
    pub treatment_rate: f64,
    pub holdout_rate: f64,
}

/// Days shown at most (a campaign's conversions after a quarter are not its own).
const CONVERSION_DAYS_MAX: i64 = 90;

/// Cumulative conversion rate per arm by whole day since `launched_ms`.
fn conversions_by_day(
    outcomes: &[sextant_store::MemberOutcome],
    launched_ms: i64,
) -> Vec<ConversionDayView> {
    const DAY_MS: i64 = 86_400_000;
    let last = outcomes
        .iter()
        .filter_map(|o| o.converted_at_ms)
        .map(|at| ((at - launched_ms).max(0) / DAY_MS).min(CONVERSION_DAYS_MAX))
        .max();
    let Some(last) = last else {
        return Vec::new();
    };
    let size = |arm: &str| outcomes.iter().filter(|o| o.arm == arm).count().max(1) as f64;
    let (treated, held) = (size("treatment"), size("holdout"));
    (0..=last)
        .map(|day| {
            let by = launched_ms + (day + 1) * DAY_MS;
            let count = |arm: &str| {
                outcomes
                    .iter()
                    .filter(|o| o.arm == arm && o.converted_at_ms.is_some_and(|at| at < by))
                    .count() as f64
            };
            ConversionDayView {
                day: u32::try_from(day).expect("bounded by CONVERSION_DAYS_MAX"),
                treatment_rate: count("treatment") / treated,
                holdout_rate: count("holdout") / held,
            }
        })
        .collect()
}

/// Reach, conversion, uplift and the Qini curve of a campaign.
pub async fn report(ctx: &Context, id: &str) -> Result<CampaignReport> {
    let campaign = super::stored(ctx, id).await?;
    let outcomes = ctx.store.campaign_outcomes(&campaign.id).await?;
    let mut arms: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    let mut scored = Vec::with_capacity(outcomes.len());
    for o in &outcomes {
        let e = arms.entry(o.arm.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(o.reached);
        e.2 += u64::from(o.converted);
        if let Some(arm) = Arm::parse(&o.arm) {
            scored.push((o.score, arm, o.converted));
        }
    }
    let arm = |name: &str| {
        let (customers, reached, conversions) = arms.get(name).copied().unwrap_or_default();
        ArmReport {
            customers,
            reached,
            conversions,
            conversion_rate: (customers > 0).then(|| conversions as f64 / customers as f64),
        }
    };
    let treatment = arm("treatment");
    let holdout = arm("holdout");
    let uplift = uplift::uplift(
        ArmCounts {
            customers: treatment.customers,
            conversions: treatment.conversions,
        },
        ArmCounts {
            customers: holdout.customers,
            conversions: holdout.conversions,
        },
        0.95,
    )
    .map(|u| UpliftView {
        absolute: u.absolute,
        ci_low: u.ci_low,
        ci_high: u.ci_high,
        confidence: u.confidence,
        method: u.method.to_owned(),
        relative: u.relative,
        p_value: u.p_value,
    });
    let (qini, qini_coefficient) = if treatment.customers > 0 && holdout.customers > 0 {
        let curve = uplift::qini(&scored, QINI_POINTS);
        (
            curve
                .points
                .into_iter()
                .map(|p| QiniPointView {
                    targeted_fraction: p.targeted_fraction,
                    treated: p.treated,
                    holdout: p.holdout,
                    incremental_conversions: p.incremental_conversions,
                    random_incremental: p.random_incremental,
                })
                .collect(),
            Some(curve.qini_coefficient),
        )
    } else {
        (Vec::new(), None)
    };
    let conversions_by_day = campaign
        .launched_at
        .map(|at| conversions_by_day(&outcomes, at.timestamp_millis()))
        .unwrap_or_default();
    Ok(CampaignReport {
        conversions_by_day,
        campaign_id: campaign.id.clone(),
        status: campaign.status.clone(),
        treatment,
        holdout,
        uplift,
        qini,
        qini_coefficient,
    })
}

#[cfg(test)]
mod tests {
    use sextant_store::MemberOutcome;

    use super::conversions_by_day;

    fn member(arm: &str, converted_at_ms: Option<i64>) -> MemberOutcome {
        MemberOutcome {
            customer_id: "c".into(),
            arm: arm.into(),
            score: 0.5,
            reached: arm == "treatment",
            converted: converted_at_ms.is_some(),
            converted_at_ms,
        }
    }

    #[test]
    fn conversion_rates_accumulate_by_day_since_the_launch() {
        const DAY: i64 = 86_400_000;
        let launch = 1_000 * DAY;
        let outcomes = [
            member("treatment", Some(launch + DAY / 2)),
            member("treatment", Some(launch + 2 * DAY + 1)),
            member("treatment", None),
            member("treatment", None),
            member("holdout", Some(launch + DAY + 5)),
            member("holdout", None),
        ];
        let days = conversions_by_day(&outcomes, launch);
        let rates: Vec<(u32, f64, f64)> = days
            .iter()
            .map(|d| (d.day, d.treatment_rate, d.holdout_rate))
            .collect();
        assert_eq!(rates, [(0, 0.25, 0.0), (1, 0.25, 0.5), (2, 0.5, 0.5)]);
        assert!(conversions_by_day(&[member("treatment", None)], launch).is_empty());
    }
}
