//! Transaction monitoring over the stored payments: every customer's payments replayed in
//! time order through `sextant_monitoring`'s detectors, counting what each typology raises.
//! Nothing is stored: this is the detectors' alert volume on a population (the figure a bank
//! sizes its review team by), and on data imported with monitoring it equals the alerts
//! filed live.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sextant_domain::CustomerId;
use sextant_monitoring::{evaluate, CustomerState, Params, Typology};
use sextant_store::Store;

use crate::Result;

/// Customers read per page.
const PAGE: u64 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct TypologyAlerts {
    pub typology: &'static str,
    /// Payments on which it fired.
    pub alerts: u64,
    /// Customers with at least one.
    pub customers: u64,
    pub alerts_per_1000_customers_per_day: f64,
    /// One reason it gave, as an example.
    pub example: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub customers: u64,
    pub payments: u64,
    /// From the first payment to the last, in days.
    pub days: f64,
    pub by_typology: Vec<TypologyAlerts>,
    /// Payments on which anything fired.
    pub payments_alerted: u64,
    pub customers_alerted: u64,
    pub alerts_per_1000_customers_per_day: f64,
    pub seconds: f64,
}

/// Replays every stored payment through the detectors with `params` (alerts, after each
/// typology's cooldown); `progress` is called with the customers done after each page.
pub async fn scan(
    store: &dyn Store,
    params: &Params,
    mut progress: impl FnMut(u64),
) -> Result<ScanReport> {
    let started = std::time::Instant::now();
    let mut alerts = [0u64; sextant_monitoring::typology::COUNT];
    let mut alerted_customers = [0u64; sextant_monitoring::typology::COUNT];
    let mut examples: [Option<String>; sextant_monitoring::typology::COUNT] = Default::default();
    let (mut customers, mut payments, mut payments_alerted, mut customers_alerted) =
        (0u64, 0u64, 0u64, 0u64);
    let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
    let mut after: Option<CustomerId> = None;
    let since = DateTime::<Utc>::UNIX_EPOCH;
    loop {
        let page = store.histories(after.as_ref(), PAGE, since).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer.id.clone());
        for history in &page {
            customers += 1;
            let mut state = CustomerState::default();
            let mut fired = [false; sextant_monitoring::typology::COUNT];
            let mut ordered: Vec<_> = history.payments.iter().collect();
            ordered.sort_by_key(|p| p.occurred_at);
            for p in ordered {
                payments += 1;
                let at = p.occurred_at.timestamp_millis();
                (first_ms, last_ms) = (first_ms.min(at), last_ms.max(at));
                let hits = evaluate(&mut state, p, params);
                payments_alerted += u64::from(!hits.is_empty());
                for hit in hits {
                    let i = hit.typology.index();
                    alerts[i] += 1;
                    fired[i] = true;
                    examples[i].get_or_insert(hit.reason);
                }
            }
            for (i, f) in fired.iter().enumerate() {
                alerted_customers[i] += u64::from(*f);
            }
            customers_alerted += u64::from(fired.iter().any(|f| *f));
        }
        progress(customers);
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    let days = if last_ms > first_ms {
        (last_ms - first_ms) as f64 / 86_400_000.0
    } else {
        0.0
    };
    let rate = |n: u64| {
        if customers == 0 || days <= 0.0 {
            0.0
        } else {
            1_000.0 * n as f64 / customers as f64 / days
        }
    };
    let by_typology = Typology::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| TypologyAlerts {
            typology: t.name(),
            alerts: alerts[i],
            customers: alerted_customers[i],
            alerts_per_1000_customers_per_day: rate(alerts[i]),
            example: examples[i].take(),
        })
        .collect();
    Ok(ScanReport {
        customers,
        payments,
        days,
        by_typology,
        payments_alerted,
        customers_alerted,
        alerts_per_1000_customers_per_day: rate(payments_alerted),
        seconds: started.elapsed().as_secs_f64(),
    })
}
