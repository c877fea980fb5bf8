//! recall@k and NDCG@k of every method on the same candidates, with 95% intervals, by
//! group and by held-out product.

use super::{
    Case, Figures, HeldOutProduct, Interval, Items, Member, MethodFigures, Variant, VariantFigures,
    Z_95,
};

/// Holders of each product over the adoption matrix (after the hold-out).
pub(super) fn popularity(members: &[Member], items: &Items) -> Vec<f64> {
    let mut holders = vec![0.0; items.ids.len()];
    for member in members {
        for i in items.numbers(&member.held) {
            holders[i] += 1.0;
        }
    }
    holders
}

/// The `k` best candidates by score, ties to the smaller item number (product id order).
pub(super) fn top_k(scores: &[f64], candidates: &[usize], k: usize) -> Vec<usize> {
    let mut ranked = candidates.to_vec();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    ranked.truncate(k);
    ranked
}

/// recall@k and NDCG@k of one list for one relevant item.
pub(super) fn hit(list: &[usize], target: usize, k: usize) -> (f64, f64) {
    match list.iter().take(k).position(|&i| i == target) {
        Some(position) => (1.0, 1.0 / (position as f64 + 2.0).log2()),
        None => (0.0, 0.0),
    }
}

/// Per method (offers, popularity, ALS), per case: (recall, NDCG).
pub(super) type Hits = [Option<Vec<(f64, f64)>>; 3];

pub(super) struct Scored {
    pub(super) figures: VariantFigures,
    pub(super) hits: Hits,
}

pub(super) fn score(
    cases: &[Case],
    items: &Items,
    variant: Variant,
    popularity: &[f64],
    als: Option<&[Vec<f64>]>,
    k: usize,
) -> anyhow::Result<Scored> {
    let mut hits: Hits = [Some(Vec::new()), Some(Vec::new()), als.map(|_| Vec::new())];
    let (mut candidates_total, mut reachable, mut at_most_k) = (0usize, 0usize, 0usize);
    for (n, case) in cases.iter().enumerate() {
        let candidates: Vec<usize> = (0..items.ids.len())
            .filter(|i| !case.held.contains(i))
            .filter(|&i| {
                variant == Variant::Unfiltered
                    || sextant_advisor::suitability::allowed(case.tolerance, items.levels[i])
            })
            .collect();
        candidates_total += candidates.len();
        reachable += usize::from(candidates.contains(&case.target));
        at_most_k += usize::from(candidates.len() <= k);
        let offers = &case.offers[variant.index()];
        anyhow::ensure!(
            offers.iter().all(|i| candidates.contains(i))
                && offers.len() == k.min(candidates.len()),
            "the service ranked other candidates than {} for customer number {}",
            variant.describe(),
            case.member
        );
        let lists = [
            Some(offers.clone()),
            Some(top_k(popularity, &candidates, k)),
            als.map(|rows| top_k(&rows[n], &candidates, k)),
        ];
        for (list, out) in lists.iter().zip(hits.iter_mut()) {
            if let (Some(list), Some(out)) = (list, out) {
                out.push(hit(list, case.target, k));
            }
        }
    }
    let method = |h: &Option<Vec<(f64, f64)>>| h.as_deref().map(|h| method_figures(h, cases));
    let difference = |other: &Option<Vec<(f64, f64)>>| {
        let (offers, other) = (hits[0].as_deref()?, other.as_deref()?);
        let diff: Vec<(f64, f64)> = offers
            .iter()
            .zip(other)
            .map(|(a, b)| (a.0 - b.0, a.1 - b.1))
            .collect();
        Some(figures(&diff, -1.0))
    };
    let figures = VariantFigures {
        candidates: variant.describe().to_owned(),
        mean_candidates: candidates_total as f64 / cases.len().max(1) as f64,
        held_out_among_candidates: reachable,
        at_most_k_candidates: at_most_k,
        offers: method(&hits[0]).expect("always scored"),
        popularity: method(&hits[1]).expect("always scored"),
        als: method(&hits[2]),
        offers_minus_popularity: difference(&hits[1]).expect("always scored"),
        offers_minus_als: difference(&hits[2]),
    };
    Ok(Scored { figures, hits })
}

fn method_figures(hits: &[(f64, f64)], cases: &[Case]) -> MethodFigures {
    let group = |member: &dyn Fn(&Case) -> bool| {
        let chosen: Vec<(f64, f64)> = hits
            .iter()
            .zip(cases)
            .filter(|(_, case)| member(case))
            .map(|(h, _)| *h)
            .collect();
        (!chosen.is_empty()).then(|| figures(&chosen, 0.0))
    };
    let all = figures(hits, 0.0);
    MethodFigures {
        recall_at_k: all.recall_at_k,
        ndcg_at_k: all.ndcg_at_k,
        with_behaviour: group(&|c| c.has_behaviour),
        without_behaviour: group(&|c| !c.has_behaviour),
        without_repayment_traces: group(&|c| !c.repayment_traces),
    }
}

/// Intervals of (recall, NDCG) pairs, clipped to `lowest..=1`.
fn figures(values: &[(f64, f64)], lowest: f64) -> Figures {
    let recall: Vec<f64> = values.iter().map(|v| v.0).collect();
    let ndcg: Vec<f64> = values.iter().map(|v| v.1).collect();
    Figures {
        recall_at_k: Interval::of(&recall, lowest),
        ndcg_at_k: Interval::of(&ndcg, lowest),
    }
}

impl Interval {
    /// Mean ± 1.96 standard errors (sample standard deviation), clipped to `lowest..=1`;
    /// all zeros for no values.
    pub(super) fn of(values: &[f64], lowest: f64) -> Interval {
        if values.is_empty() {
            return Interval {
                mean: 0.0,
                ci95_low: 0.0,
                ci95_high: 0.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let half = Z_95 * (variance / n).sqrt();
        Interval {
            mean,
            ci95_low: (mean - half).max(lowest),
            ci95_high: (mean + half).min(1.0),
        }
    }
}

pub(super) fn by_held_out_product(
    cases: &[Case],
    items: &Items,
    holders: &[f64],
    hits: &Hits,
) -> Vec<HeldOutProduct> {
    let recall = |method: usize, of: &[usize]| {
        hits[method]
            .as_ref()
            .map(|h| of.iter().map(|&n| h[n].0).sum::<f64>() / of.len().max(1) as f64)
    };
    (0..items.ids.len())
        .filter_map(|item| {
            let of: Vec<usize> = (0..cases.len())
                .filter(|&n| cases[n].target == item)
                .collect();
            if of.is_empty() {
                return None;
            }
            let suitable = of
                .iter()
                .filter(|&&n| {
                    sextant_advisor::suitability::allowed(cases[n].tolerance, items.levels[item])
                })
                .count();
            Some(HeldOutProduct {
                product_id: items.ids[item].as_str().to_owned(),
                risk_level: items.levels[item].to_string(),
                holders: holders[item] as usize,
                customers: of.len(),
                suitable,
                offers_recall_at_k: recall(0, &of).unwrap_or(0.0),
                popularity_recall_at_k: recall(1, &of).unwrap_or(0.0),
                als_recall_at_k: recall(2, &of),
            })
        })
        .collect()
}
