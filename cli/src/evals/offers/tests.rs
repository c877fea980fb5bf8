use std::collections::BTreeSet;

use chrono::Utc;
use sextant_domain::{CustomerId, Holding, ProductId};

use super::population::latest_adopted;
use super::scoring::{hit, top_k};
use super::*;

fn holding(product: &str, day: u32) -> Holding {
    use chrono::TimeZone;
    Holding {
        customer_id: CustomerId::parse("c0000001").unwrap(),
        product_id: ProductId::parse(product).unwrap(),
        value: sextant_domain::AmountMinor::new(100).unwrap(),
        currency: sextant_domain::Currency::EUR,
        opened_at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
    }
}

#[test]
fn the_latest_adoption_is_held_out_with_ties_to_the_larger_id() {
    assert_eq!(latest_adopted(&[holding("dep-easy-access", 1)]), None);
    assert_eq!(
        latest_adopted(&[holding("dep-easy-access", 1), holding("dep-easy-access", 2)]),
        None,
        "two holdings of one product are one product"
    );
    let latest = latest_adopted(&[
        holding("ins-travel", 3),
        holding("dep-easy-access", 1),
        holding("cc-classic", 3),
    ]);
    assert_eq!(latest.unwrap().as_str(), "ins-travel");
}

#[test]
fn ranks_and_intervals() {
    assert_eq!(top_k(&[0.5, 0.9, 0.5, 0.1], &[0, 2, 3], 2), vec![0, 2]);
    assert_eq!(hit(&[4, 2], 2, 5), (1.0, 1.0 / 3f64.log2()));
    assert_eq!(hit(&[4, 2], 2, 1), (0.0, 0.0));
    let i = Interval::of(&[1.0, 1.0, 1.0], 0.0);
    assert_eq!((i.mean, i.ci95_low, i.ci95_high), (1.0, 1.0, 1.0));
    let i = Interval::of(&[0.0, 1.0], 0.0);
    assert!(i.ci95_low == 0.0 && i.ci95_high == 1.0 && i.mean == 0.5);
}

/// A small run without the peer: finite figures within 0..=1, and exactly one product
/// held out per customer holding two or more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_population_is_evaluated_by_the_protocol() {
    let args = EvalOffersArgs {
        customers: 200,
        months: 3,
        seed: 5,
        k: 5,
        json: false,
        no_peer: true,
    };
    let e = eval_offers(&args).await.unwrap();
    let config = sextant_synth::Config {
        customers: args.customers,
        months: args.months,
        seed: args.seed,
        end_date: e.end_date,
    };
    let eligible = (0..args.customers)
        .filter(|&i| {
            let bundle = sextant_synth::generate_customer(&config, i);
            let products: BTreeSet<_> = bundle
                .holdings
                .iter()
                .map(|h| h.product_id.clone())
                .collect();
            products.len() >= 2
        })
        .count();
    assert!(
        eligible > 20,
        "{eligible} customers hold two or more products"
    );
    assert_eq!(e.customers_evaluated, eligible);
    assert_eq!(e.adoptions_generated - e.adoptions_stored, eligible);
    assert!(e.als.is_none());
    for v in [&e.suitable, &e.unfiltered] {
        assert!(v.als.is_none() && v.offers_minus_als.is_none());
        assert!(v.held_out_among_candidates <= eligible);
        for m in [&v.offers, &v.popularity] {
            let groups = [
                m.with_behaviour,
                m.without_behaviour,
                m.without_repayment_traces,
            ];
            let intervals = [m.recall_at_k, m.ndcg_at_k].into_iter().chain(
                groups
                    .iter()
                    .flatten()
                    .flat_map(|f| [f.recall_at_k, f.ndcg_at_k]),
            );
            for i in intervals {
                for x in [i.mean, i.ci95_low, i.ci95_high] {
                    assert!(x.is_finite() && (0.0..=1.0).contains(&x), "{i:?}");
                }
                assert!(i.ci95_low <= i.mean && i.mean <= i.ci95_high, "{i:?}");
            }
            assert!(m.ndcg_at_k.mean <= m.recall_at_k.mean);
        }
    }
    assert!(e.unfiltered.mean_candidates >= e.suitable.mean_candidates);
}
