//! The demo's loyalty points: the import earned them (the rules run on every stored
//! purchase and refund); here the population spends some, as `sextant_synth::loyalty`
//! draws, through the same ledger a redemption over HTTP uses, and the liability is shown.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sextant_domain::CustomerId;
use sextant_services::loyalty::{self, LiabilityReport};
use sextant_services::Context;
use sextant_store::{Actor, LedgerStep};
use sextant_synth::loyalty::{redemption, RedeemOn};

use crate::output::Report;

/// Customers per transaction.
const PAGE: u64 = 500;

#[derive(Debug, Default)]
pub struct Redemptions {
    pub customers: u64,
    pub redeemers: u64,
    pub points: i64,
    pub on_purchases: u64,
    pub on_fees: u64,
}

/// Every customer with points decides, as the synthetic population does, whether to spend
/// some today; each redemption is keyed by customer, so running this twice spends once.
pub async fn redeem(ctx: &Context, seed: u64, now: DateTime<Utc>) -> anyhow::Result<Redemptions> {
    let by = Actor::system("demo");
    let today = now.date_naive();
    let tally = Arc::new(Mutex::new(Redemptions::default()));
    let mut after: Option<CustomerId> = None;
    loop {
        let page = ctx.store.customer_ids_after(after.as_ref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        let steps: Vec<(CustomerId, LedgerStep)> = page
            .into_iter()
            .map(|id| {
                let tally = tally.clone();
                let key = format!("demo-redemption:{id}");
                let customer = id.clone();
                let step: LedgerStep = Box::new(move |ledger| {
                    let spendable = ledger.snapshot(today).spendable;
                    let mut t = tally.lock().expect("not poisoned");
                    t.customers += u64::from(spendable > 0);
                    let Some(r) = redemption(customer.as_str(), seed, spendable) else {
                        return Ok(Vec::new());
                    };
                    let memo = match r.on {
                        RedeemOn::Purchase => format!("purchase:demo-order-{customer}"),
                        RedeemOn::InstalmentFee => format!("instalment_fee:demo-plan-{customer}"),
                    };
                    let applied =
                        ledger.redeem(&key, now, r.points, Some("demo".into()), Some(memo))?;
                    if !applied.repeated {
                        t.redeemers += 1;
                        t.points += r.points;
                        match r.on {
                            RedeemOn::Purchase => t.on_purchases += 1,
                            RedeemOn::InstalmentFee => t.on_fees += 1,
                        }
                    }
                    Ok(vec![applied])
                });
                (id, step)
            })
            .collect();
        for result in ctx.store.post_points_many(steps, &by, now).await? {
            result?;
        }
    }
    let tally = std::mem::take(&mut *tally.lock().expect("not poisoned"));
    Ok(tally)
}

/// Prints what the population earned and spent, and the liability finance reports.
pub async fn show(ctx: &Context, redeemed: &Redemptions, now: DateTime<Utc>) -> anyhow::Result<()> {
    let value = loyalty::rules().value;
    println!(
        "  {} customers hold points; {} redeemed {} points today ({}): {} off a purchase, {} off an instalment fee",
        redeemed.customers,
        redeemed.redeemers,
        redeemed.points,
        sextant_api::console::money(value.money_for(redeemed.points), value.currency.as_str()),
        redeemed.on_purchases,
        redeemed.on_fees
    );
    let liability: LiabilityReport = loyalty::liability(ctx.store.as_ref(), now).await?;
    println!("  the points outstanding, by the month they expire (`sextant loyalty liability`):");
    liability.print_table();
    Ok(())
}
