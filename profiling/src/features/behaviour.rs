//! App engagement: sessions, product and fund views, offers.

use sextant_domain::{BehaviourEvent, BehaviourKind, ProductKind};

use super::{ratio_or, Clock, Values};
use crate::catalogue::F;
use crate::products;

/// Reported when the customer has not opened the app within a year (or ever).
const NO_RECENT_SESSION_DAYS: f64 = 365.0;

#[derive(Debug, Default)]
pub(super) struct AppSummary {
    pub first_ms: Option<i64>,
    days_since_session: f64,
    sessions_30d: u32,
    sessions_90d: u32,
    product_views_30d: u32,
    product_views_90d: u32,
    fund_views_90d: u32,
    impressions_90d: u32,
    clicks_30d: u32,
    clicks_90d: u32,
}

impl AppSummary {
    pub fn write(&self, values: &mut Values) {
        values.set(F::Sessions30d, f64::from(self.sessions_30d));
        values.set(F::Sessions90d, f64::from(self.sessions_90d));
        values.set(F::DaysSinceLastSession, self.days_since_session);
        values.set(F::ProductViews30d, f64::from(self.product_views_30d));
        values.set(F::ProductViews90d, f64::from(self.product_views_90d));
        values.set(F::FundViews90d, f64::from(self.fund_views_90d));
        values.set(F::OfferImpressions90d, f64::from(self.impressions_90d));
        values.set(F::OfferClicks30d, f64::from(self.clicks_30d));
        values.set(F::OfferClicks90d, f64::from(self.clicks_90d));
        let ctr = ratio_or(
            f64::from(self.clicks_90d),
            f64::from(self.impressions_90d),
            0.0,
        );
        // Clicks whose impression was lost upstream must not push the rate past one.
        values.set(F::OfferCtr90d, ctr.min(1.0));
    }
}

pub(super) fn summarise(events: &[BehaviourEvent], clock: &Clock) -> AppSummary {
    let mut s = AppSummary::default();
    let mut last_session_ms: Option<i64> = None;
    for e in events {
        let t = e.occurred_at.timestamp_millis();
        if t > clock.as_of_ms {
            continue;
        }
        s.first_ms = Some(s.first_ms.map_or(t, |f| f.min(t)));
        if !clock.in_90d(t) {
            if e.kind == BehaviourKind::AppOpen {
                last_session_ms = Some(last_session_ms.map_or(t, |l| l.max(t)));
            }
            continue;
        }
        let recent = clock.in_30d(t);
        match e.kind {
            BehaviourKind::AppOpen => {
                last_session_ms = Some(last_session_ms.map_or(t, |l| l.max(t)));
                s.sessions_90d += 1;
                s.sessions_30d += u32::from(recent);
            }
            BehaviourKind::ProductView => {
                s.product_views_90d += 1;
                s.product_views_30d += u32::from(recent);
                let fund = e
                    .product_id
                    .as_ref()
                    .and_then(|id| products::info(id.as_str()))
                    .is_some_and(|info| info.kind == ProductKind::Fund);
                s.fund_views_90d += u32::from(fund);
            }
            BehaviourKind::OfferImpression => s.impressions_90d += 1,
            BehaviourKind::OfferClick => {
                s.clicks_90d += 1;
                s.clicks_30d += u32::from(recent);
            }
            BehaviourKind::ScreenView
            | BehaviourKind::OfferDismiss
            | BehaviourKind::OfferConversion
            | BehaviourKind::Search => {}
        }
    }
    s.days_since_session = last_session_ms.map_or(NO_RECENT_SESSION_DAYS, |t| {
        clock.days_since(t).min(NO_RECENT_SESSION_DAYS)
    });
    s
}
