//! Points on ingested payments: after a batch is stored (through `POST /v1/events` or
//! `sextant import`), the earning rules run on its purchases and refunds, every customer of
//! the batch in one transaction.
//!
//! Each customer's tier reads their purchases less refunds over the 365 days before each
//! payment, in the rules' currency (a foreign amount converted at its own day's reference
//! rate); a purchase without a rate earns nothing yet and is reported. Postings are keyed by
//! payment (`earn:<id>`, `refund:<id>`), so a batch sent or imported again earns nothing
//! twice, and running the rules again over stored payments (a crash between the two
//! commits, a rate published late) posts only what is missing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sextant_domain::{CustomerId, Event, PaymentEvent, PaymentKind, PaymentStatus, RateTable};
use sextant_loyalty::{
    earn_on_payments, EarningRules, Outcome, Spend, SpendHistory, TIER_WINDOW_DAYS,
};
use sextant_store::{Actor, LedgerStep, SpendRow, Store};

use crate::Result;

/// What the rules did with a batch's purchases and refunds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EarnReport {
    /// Purchases and refunds the rules ran on.
    pub payments: u64,
    /// Purchases that earned, and their points.
    pub earned: u64,
    pub points_earned: i64,
    /// Refunds that took points back, the points taken, and those already spent.
    pub reversed: u64,
    pub points_reversed: i64,
    pub shortfall: i64,
    /// Payments whose posting was already in the journal.
    pub already_posted: u64,
    /// Payments that earned or reversed nothing, by reason.
    pub nothing: BTreeMap<String, u64>,
    /// Customers whose ledger refused the batch (logged; their payments stay stored).
    pub refused_customers: u64,
}

impl EarnReport {
    pub fn add(&mut self, other: &EarnReport) {
        self.payments += other.payments;
        self.earned += other.earned;
        self.points_earned += other.points_earned;
        self.reversed += other.reversed;
        self.points_reversed += other.points_reversed;
        self.shortfall += other.shortfall;
        self.already_posted += other.already_posted;
        for (why, n) in &other.nothing {
            *self.nothing.entry(why.clone()).or_default() += n;
        }
        self.refused_customers += other.refused_customers;
    }

    fn count(&mut self, outcome: &Outcome) {
        self.payments += 1;
        match outcome {
            Outcome::Earned { points, .. } => {
                self.earned += 1;
                self.points_earned += points;
            }
            Outcome::Reversed { points, shortfall } => {
                self.reversed += 1;
                self.points_reversed += points;
                self.shortfall += shortfall;
            }
            Outcome::AlreadyPosted => self.already_posted += 1,
            Outcome::Nothing(why) => *self.nothing.entry((*why).to_owned()).or_default() += 1,
        }
    }
}

/// A payment the rules read: a purchase, or a refund.
fn earns_or_reverses(p: &PaymentEvent) -> bool {
    matches!(p.kind, PaymentKind::Purchase | PaymentKind::Refund)
}

/// A stored purchase or refund as the rules read it: its amount in the rules' currency
/// (`None` without a rate).
fn spend_of(rates: &RateTable, rules: &EarningRules, row: &SpendRow) -> Spend {
    Spend {
        event_id: row.event_id.clone(),
        at: row.occurred_at,
        amount: rates
            .convert(
                row.amount_minor,
                row.currency,
                rules.currency,
                row.occurred_at.date_naive(),
            )
            .ok(),
        refund: row.refund,
    }
}

/// A payment as the purchases-and-refunds query reads it, when it is one.
fn spend_row(p: &PaymentEvent) -> Option<SpendRow> {
    let counted = p.status == PaymentStatus::Completed
        && matches!(p.kind, PaymentKind::Purchase | PaymentKind::Refund);
    counted.then(|| SpendRow {
        customer_id: p.customer_id.clone(),
        event_id: p.event_id.as_str().to_owned(),
        occurred_at: p.occurred_at,
        amount_minor: p.amount.get(),
        currency: p.currency,
        refund: p.kind == PaymentKind::Refund,
    })
}

/// The stored purchases and refunds of `customers` from `since` to `until`. Every payment
/// in `given` is stored exactly as given, so a customer with as many payments stored in the
/// period as given has no others (counted on the index, without reading rows): their rows
/// come from `given`, and only the other customers' are read back (an import's batch
/// usually holds a customer's payments alone).
async fn spend_rows(
    store: &dyn Store,
    given: &[&PaymentEvent],
    customers: &[CustomerId],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<SpendRow>> {
    let stored = store.payment_counts(customers, since, until).await?;
    let mut own: HashMap<&CustomerId, (HashSet<&str>, Vec<SpendRow>)> = HashMap::new();
    for p in given {
        if !(since..=until).contains(&p.occurred_at) {
            continue;
        }
        let (seen, rows) = own.entry(&p.customer_id).or_default();
        if seen.insert(p.event_id.as_str()) {
            rows.extend(spend_row(p));
        }
    }
    let mut rows = Vec::new();
    let mut read = Vec::new();
    for customer in customers {
        let stored = stored.get(customer).copied().unwrap_or(0);
        match own.remove(customer) {
            Some((seen, mine)) if seen.len() as u64 == stored => rows.extend(mine),
            None if stored == 0 => {}
            _ => read.push(customer.clone()),
        }
    }
    if !read.is_empty() {
        rows.extend(store.purchases_and_refunds(&read, since, until).await?);
    }
    Ok(rows)
}

/// Runs the earning rules on the purchases and refunds among `events` (stored already:
/// duplicates included, so a re-sent batch repairs what an interrupted one missed) and
/// stores what they earn and reverse.
pub async fn earn_on_events(
    store: &dyn Store,
    rules: &EarningRules,
    events: &[Event],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<EarnReport> {
    let mut by_customer: HashMap<CustomerId, Vec<PaymentEvent>> = HashMap::new();
    let mut given = Vec::new();
    for event in events {
        if let Event::Payment(p) = event {
            given.push(p);
            if earns_or_reverses(p) {
                by_customer
                    .entry(p.customer_id.clone())
                    .or_default()
                    .push(p.clone());
            }
        }
    }
    earn_on_payments_of(store, rules, by_customer, &given, by, now).await
}

/// The same, for purchases and refunds already grouped by customer. `given` holds every
/// payment the caller has of those customers, each stored exactly as given (the batch just
/// stored, or payments read from the store): a customer none of whose stored payments in
/// the tier window is missing from it is not read back.
pub async fn earn_on_payments_of(
    store: &dyn Store,
    rules: &EarningRules,
    by_customer: HashMap<CustomerId, Vec<PaymentEvent>>,
    given: &[&PaymentEvent],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<EarnReport> {
    let mut report = EarnReport::default();
    let times = by_customer.values().flatten().map(|p| p.occurred_at);
    let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
        return Ok(report);
    };
    let mut customers: Vec<CustomerId> = by_customer.keys().cloned().collect();
    customers.sort_unstable();
    let since = first - Duration::days(TIER_WINDOW_DAYS);
    let rows = spend_rows(store, given, &customers, since, last).await?;
    let foreign = rows.iter().any(|r| r.currency != rules.currency)
        || by_customer
            .values()
            .flatten()
            .any(|p| p.currency != rules.currency);
    let rates = Arc::new(if foreign {
        store
            .fx_rates(since.date_naive(), last.date_naive())
            .await?
    } else {
        RateTable::new()
    });
    let mut spend: HashMap<CustomerId, Vec<Spend>> = HashMap::new();
    for row in &rows {
        spend
            .entry(row.customer_id.clone())
            .or_default()
            .push(spend_of(&rates, rules, row));
    }
    let outcomes: Arc<Mutex<Vec<(String, Outcome)>>> = Arc::default();
    let mut steps: Vec<(CustomerId, LedgerStep)> = Vec::with_capacity(by_customer.len());
    for (customer, payments) in by_customer {
        let history = SpendHistory::new(spend.remove(&customer).unwrap_or_default());
        let (rules, rates, outcomes) = (rules.clone(), rates.clone(), outcomes.clone());
        let step: LedgerStep = Box::new(move |ledger| {
            let refs: Vec<&PaymentEvent> = payments.iter().collect();
            let done = earn_on_payments(ledger, &rules, &history, &refs, |p| {
                rates
                    .convert(
                        p.amount.get(),
                        p.currency,
                        rules.currency,
                        p.occurred_at.date_naive(),
                    )
                    .ok()
            })?;
            outcomes.lock().expect("not poisoned").extend(done);
            Ok(Vec::new())
        });
        steps.push((customer, step));
    }
    let names: Vec<CustomerId> = steps.iter().map(|(c, _)| c.clone()).collect();
    let results = store.post_points_many(steps, by, now).await?;
    for (customer, result) in names.iter().zip(&results) {
        if let Err(e) = result {
            report.refused_customers += 1;
            tracing::error!(customer = %customer, error = %e, "the loyalty ledger refused a batch's earnings");
        }
    }
    // A refused step returned before handing over its outcomes: these were all stored.
    for (_, outcome) in outcomes.lock().expect("not poisoned").iter() {
        report.count(outcome);
    }
    Ok(report)
}

/// The customer's purchases less refunds over the [`TIER_WINDOW_DAYS`] before `now`, in the
/// rules' currency: what their tier reads.
pub async fn spend_12m(
    store: &dyn Store,
    rules: &EarningRules,
    customer: &CustomerId,
    now: DateTime<Utc>,
) -> Result<i64> {
    let since = now - Duration::days(TIER_WINDOW_DAYS);
    let rows = store
        .purchases_and_refunds(std::slice::from_ref(customer), since, now)
        .await?;
    let rates = if rows.iter().any(|r| r.currency != rules.currency) {
        store.fx_rates(since.date_naive(), now.date_naive()).await?
    } else {
        RateTable::new()
    };
    let history = SpendHistory::new(rows.iter().map(|r| spend_of(&rates, rules, r)).collect());
    Ok(history.spend_before(now + Duration::milliseconds(1)))
}

/// Customers per page of [`earn_stored`].
const CATCH_UP_PAGE: u64 = 200;

/// Runs the rules over every customer's stored purchases and refunds since `since`, posting
/// only what is missing (an import made without them, a crash between a batch's two
/// commits, a purchase whose rate was published late). `on_page(customers_done)` follows.
pub async fn earn_stored(
    store: &dyn Store,
    rules: &EarningRules,
    since: DateTime<Utc>,
    by: &Actor,
    now: DateTime<Utc>,
    mut on_page: impl FnMut(u64),
) -> Result<EarnReport> {
    let mut report = EarnReport::default();
    let mut after: Option<CustomerId> = None;
    let mut done = 0u64;
    loop {
        let page = store
            .histories(after.as_ref(), CATCH_UP_PAGE, since)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer.id.clone());
        done += page.len() as u64;
        let by_customer: HashMap<CustomerId, Vec<PaymentEvent>> = page
            .iter()
            .map(|h| {
                let payments = h
                    .payments
                    .iter()
                    .filter(|p| earns_or_reverses(p) && p.occurred_at >= since)
                    .cloned()
                    .collect::<Vec<_>>();
                (h.customer.id.clone(), payments)
            })
            .filter(|(_, payments)| !payments.is_empty())
            .collect();
        let given: Vec<&PaymentEvent> = page.iter().flat_map(|h| &h.payments).collect();
        let page_report = earn_on_payments_of(store, rules, by_customer, &given, by, now).await?;
        report.add(&page_report);
        on_page(done);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_add_up() {
        let mut a = EarnReport::default();
        a.count(&Outcome::Earned {
            points: 10,
            uncapped: 12,
        });
        a.count(&Outcome::Nothing("cap_reached"));
        let mut b = EarnReport::default();
        b.count(&Outcome::Reversed {
            points: 4,
            shortfall: 1,
        });
        b.count(&Outcome::Nothing("cap_reached"));
        a.add(&b);
        assert_eq!(
            (a.payments, a.points_earned, a.points_reversed, a.shortfall),
            (4, 10, 4, 1)
        );
        assert_eq!(a.nothing["cap_reached"], 2);
    }
}
