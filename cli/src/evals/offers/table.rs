//! The evaluation as tables.

use super::{Interval, MethodFigures, OfferEval, VariantFigures};
use crate::output::Report;

fn interval(i: &Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.mean, i.ci95_low, i.ci95_high)
}

fn print_variant(v: &VariantFigures, k: usize, als: bool) {
    println!();
    println!("candidates: {}", v.candidates);
    println!(
        "  {:.1} candidates on average; the held-out product is among them for {} customers; {} have {k} or fewer (same recall for every method)",
        v.mean_candidates, v.held_out_among_candidates, v.at_most_k_candidates
    );
    let methods: Vec<&MethodFigures> = [Some(&v.offers), Some(&v.popularity), v.als.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let mut header = format!("  {:<26}", "");
    for name in ["offers", "popularity", "ALS (implicit)"]
        .iter()
        .take(methods.len())
    {
        header += &format!(" {name:<22}");
    }
    println!("{header}");
    let row = |label: String, get: &dyn Fn(&MethodFigures) -> Option<Interval>| {
        let mut line = format!("  {label:<26}");
        for m in &methods {
            let cell = get(m).map_or_else(|| "-".to_owned(), |i| interval(&i));
            line += &format!(" {cell:<22}");
        }
        println!("{line}");
    };
    row(format!("recall@{k}"), &|m| Some(m.recall_at_k));
    row(format!("NDCG@{k}"), &|m| Some(m.ndcg_at_k));
    row(format!("recall@{k}, with behaviour"), &|m| {
        m.with_behaviour.map(|f| f.recall_at_k)
    });
    row(format!("recall@{k}, no behaviour"), &|m| {
        m.without_behaviour.map(|f| f.recall_at_k)
    });
    row(format!("NDCG@{k}, with behaviour"), &|m| {
        m.with_behaviour.map(|f| f.ndcg_at_k)
    });
    row(format!("NDCG@{k}, no behaviour"), &|m| {
        m.without_behaviour.map(|f| f.ndcg_at_k)
    });
    row(format!("recall@{k}, no loan/BNPL *"), &|m| {
        m.without_repayment_traces.map(|f| f.recall_at_k)
    });
    row(format!("NDCG@{k}, no loan/BNPL *"), &|m| {
        m.without_repayment_traces.map(|f| f.ndcg_at_k)
    });
    let d = &v.offers_minus_popularity;
    println!(
        "  offers - popularity: recall@{k} {}, NDCG@{k} {}",
        interval(&d.recall_at_k),
        interval(&d.ndcg_at_k)
    );
    if let (true, Some(d)) = (als, &v.offers_minus_als) {
        println!(
            "  offers - ALS:        recall@{k} {}, NDCG@{k} {}",
            interval(&d.recall_at_k),
            interval(&d.ndcg_at_k)
        );
    }
}

impl Report for OfferEval {
    fn print_table(&self) {
        let e = self;
        let k = e.k;
        println!(
            "Offer quality: {} synthetic customers x {} months (seed {}, window ending {}), k = {k}",
            e.customers, e.months, e.seed, e.end_date
        );
        println!(
            "{} customers evaluated ({} with behaviour data, {} without); {} products; offer model {} on {} customers",
            e.customers_evaluated,
            e.customers_with_behaviour,
            e.customers_evaluated - e.customers_with_behaviour,
            e.catalogue_products,
            e.offer_model.model_version,
            e.offer_model.customers
        );
        print_variant(&e.suitable, k, e.als.is_some());
        print_variant(&e.unfiltered, k, e.als.is_some());
        println!();
        println!(
            "held-out product       level  holders  held out  suitable  recall@{k} unfiltered: offers  popularity  ALS"
        );
        for p in &e.held_out_products {
            let als = p
                .als_recall_at_k
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
            println!(
                "  {:<22} {:>4} {:>8} {:>9} {:>9} {:>26.3} {:>11.3} {:>6}",
                p.product_id,
                p.risk_level,
                p.holders,
                p.customers,
                p.suitable,
                p.offers_recall_at_k,
                p.popularity_recall_at_k,
                als
            );
        }
        if let Some(a) = &e.als {
            println!(
                "ALS (implicit {}): factors {}, regularization {}, alpha {}, iterations {}; validation NDCG@{k} {:.3} on {} customers",
                a.implicit_version,
                a.chosen.factors,
                a.chosen.regularization,
                a.chosen.alpha,
                a.chosen.iterations,
                a.validation_ndcg_at_k,
                a.validation_customers
            );
        }
        let s = &e.stage_seconds;
        println!(
            "{:.1}s: generate and store {:.1}s, profile and embed {:.1}s, offer model {:.1}s, rank {:.1}s{}",
            e.seconds,
            s.generate_and_store,
            s.profile_and_embed,
            s.train_offer_model,
            s.rank_offers,
            s.als.map_or_else(String::new, |a| format!(", ALS {a:.1}s"))
        );
        println!(
            "* customers whose held-out product is not a loan or instalment plan, whose repayments stay in the payments the offer model reads"
        );
        println!("protocol: {}", e.protocol);
    }
}
