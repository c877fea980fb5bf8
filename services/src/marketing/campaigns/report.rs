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
    Ok(CampaignReport {
        campaign_id: campaign.id.clone(),
        status: campaign.status.clone(),
        treatment,
        holdout,
        uplift,
        qini,
        qini_coefficient,
    })
}
