//! `sextant monitoring eval-population`: transaction monitoring scored against the fraud and
//! laundering the synthetic population plants (`sextant_synth::Scheme`), with no database:
//! each customer's payments go through the detectors in time order, as they would land.
//!
//! Two readings. **Live**: the alerts as filed (each typology's cooldown applied): how many
//! planted episodes raise at least one alert on one of their payments, and how many clean
//! customers of each persona are alerted (the false positives a review team works).
//! **At a fixed alert rate**: every payment scored by the decision policy, the threshold set
//! so that at most `alert_rate` of payments are alerted: recall per scheme (episodes with a
//! payment at or above the threshold; planted payments caught) and precision. Read twice:
//! with the detectors' policy (no model), and with the monitoring model
//! (`services::monitoring::model`) trained on another population (the next seed, same size)
//! as `sextant monitoring train` trains it on stored payments. Both screen the
//! counterparties against the population's own sanctions list, as the demo does.

use serde::Serialize;
use sextant_monitoring::features::detect_with_features;
use sextant_monitoring::{cool_down, decide, CustomerState, Params};
use sextant_services::monitoring::model::{fit, ModelFigures, Rows};
use sextant_synth::{generate_customer, Config, Persona, Scheme};

#[derive(Debug, Clone, Serialize)]
pub struct SchemeRecall {
    pub scheme: &'static str,
    pub episodes: u64,
    /// Episodes with at least one alert (as filed) on one of their payments.
    pub caught_live: u64,
    pub recall_live: f64,
    /// Episodes with a payment scored at or above the threshold.
    pub caught_at_rate: u64,
    pub recall_at_rate: f64,
    pub planted_payments: u64,
    pub planted_payments_alerted_at_rate: u64,
    /// The same reading with the monitoring model's score.
    pub caught_at_rate_model: u64,
    pub recall_at_rate_model: f64,
    pub planted_payments_alerted_at_rate_model: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonaFalsePositives {
    pub persona: &'static str,
    pub customers: u64,
    /// Customers with no planted episode.
    pub clean_customers: u64,
    /// Clean customers with at least one alert as filed.
    pub clean_alerted_live: u64,
    pub false_positive_rate_live: f64,
    /// Alerts as filed on clean customers, per 1,000 clean customers a day.
    pub alerts_per_1000_customers_per_day_live: f64,
    /// Clean customers with a payment at or above the threshold.
    pub clean_alerted_at_rate: u64,
    pub false_positive_rate_at_rate: f64,
    /// The same reading with the monitoring model's score.
    pub clean_alerted_at_rate_model: u64,
    pub false_positive_rate_at_rate_model: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PopulationEval {
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    pub payments: u64,
    pub days: f64,
    pub episodes: u64,
    /// The share of payments the fixed-rate reading may alert.
    pub alert_rate: f64,
    /// The policy score at or above which a payment is alerted in that reading.
    pub score_threshold: f64,
    /// The share actually alerted (ties and payments scored 0 can keep it under the rate).
    pub payments_alerted_share: f64,
    /// Planted payments among the payments alerted at the rate.
    pub precision_at_rate: f64,
    /// The model's: its threshold, the share alerted and the precision at the rate.
    pub score_threshold_model: f64,
    pub payments_alerted_share_model: f64,
    pub precision_at_rate_model: f64,
    /// The model as trained on the other population (its own held-out figures).
    pub model: ModelFigures,
    pub model_training_seed: u64,
    /// Alerts as filed, per 1,000 customers a day, all customers.
    pub alerts_per_1000_customers_per_day_live: f64,
    pub by_scheme: Vec<SchemeRecall>,
    pub by_persona: Vec<PersonaFalsePositives>,
    pub seconds: f64,
}

/// One payment's reading.
struct Scored {
    customer: u32,
    /// The detectors' policy score.
    score: f32,
    /// The model's probability.
    model: f32,
    planted: bool,
}

/// Who and what a score alerts when `alert_rate` of payments may be alerted.
struct AtRate {
    threshold: f32,
    alerted: u64,
    alerted_planted: u64,
    customer_alerted: Vec<bool>,
    customer_planted_alerted: Vec<bool>,
    /// Per scheme (in `Scheme::ALL`'s order): planted payments alerted.
    scheme_payments_alerted: Vec<u64>,
}

fn at_rate(
    scored: &[Scored],
    score: impl Fn(&Scored) -> f32,
    alert_rate: f64,
    people: &[Customer],
) -> AtRate {
    // The threshold: the score of the payment at the alert rate's rank, never 0 (a payment
    // nothing fired on is never an alert).
    let mut scores: Vec<f32> = scored.iter().map(&score).collect();
    let rank =
        ((alert_rate * scores.len() as f64).floor() as usize).min(scores.len().saturating_sub(1));
    let threshold = if scores.is_empty() {
        f32::MAX
    } else {
        let (_, at, _) = scores.select_nth_unstable_by(rank, |a, b| b.total_cmp(a));
        at.max(f32::MIN_POSITIVE)
    };
    let mut out = AtRate {
        threshold,
        alerted: 0,
        alerted_planted: 0,
        customer_alerted: vec![false; people.len()],
        customer_planted_alerted: vec![false; people.len()],
        scheme_payments_alerted: vec![0; Scheme::ALL.len()],
    };
    for s in scored {
        let hit = score(s) >= threshold;
        let c = s.customer as usize;
        out.alerted += u64::from(hit);
        out.customer_alerted[c] |= hit;
        if s.planted {
            out.alerted_planted += u64::from(hit);
            out.customer_planted_alerted[c] |= hit;
            if let Some(scheme) = people[c].scheme {
                out.scheme_payments_alerted[scheme_index(scheme)] += u64::from(hit);
            }
        }
    }
    out
}

fn scheme_index(s: Scheme) -> usize {
    Scheme::ALL.iter().position(|x| *x == s).expect("in ALL")
}

/// The monitoring model trained on a population of `customers` generated with `seed`.
fn train_model(
    customers: u64,
    months: u32,
    seed: u64,
    alert_rate: f64,
    params: &Params,
) -> anyhow::Result<sextant_services::monitoring::model::Fitted> {
    let config = Config::new(customers, months, seed);
    let mut rows = Rows::default();
    for index in 0..customers {
        let bundle = generate_customer(&config, index);
        let planted: std::collections::HashSet<&str> = bundle
            .truth
            .fraud
            .iter()
            .flat_map(|f| f.event_ids.iter().map(|e| e.as_str()))
            .collect();
        rows.add_customer(&bundle.payments, params, |p| {
            planted.contains(p.event_id.as_str())
        });
    }
    fit(rows, alert_rate, seed).map_err(|e| anyhow::anyhow!("training the model: {e}"))
}

#[derive(Default)]
struct Customer {
    persona: usize,
    scheme: Option<Scheme>,
    alerts_live: u64,
    planted_alerted_live: bool,
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// Generates `customers` (seeded) and scores monitoring on them; `progress(done)` follows.
pub fn eval_population(
    customers: u64,
    months: u32,
    seed: u64,
    alert_rate: f64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<PopulationEval> {
    anyhow::ensure!(
        alert_rate > 0.0 && alert_rate < 1.0,
        "--alert-rate must lie strictly between 0 and 1"
    );
    let started = std::time::Instant::now();
    let config = Config::new(customers, months, seed);
    config.validate()?;
    let params = Params::default();
    let model_seed = seed.wrapping_add(1);
    eprintln!("training the monitoring model on {customers} other customers (seed {model_seed})");
    let fitted = train_model(customers, months, model_seed, alert_rate, &params)?;
    let model = &fitted.serving.model;
    // Counterparties are screened against the population's own list, as the demo does: a
    // match blocks under either policy (its score at least the match's).
    let list = sextant_monitoring::screening::Watchlist::from_sdn_csv(
        &sextant_synth::sanctions::sdn_csv(),
    )
    .map_err(|e| anyhow::anyhow!("the generated sanctions list: {e}"))?;
    let mut screened: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    let mut scored: Vec<Scored> = Vec::new();
    let mut people: Vec<Customer> = Vec::with_capacity(customers as usize);
    let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
    for index in 0..customers {
        let bundle = generate_customer(&config, index);
        let planted: std::collections::HashSet<&str> = bundle
            .truth
            .fraud
            .iter()
            .flat_map(|f| f.event_ids.iter().map(|e| e.as_str()))
            .collect();
        let mut person = Customer {
            persona: Persona::ALL
                .iter()
                .position(|p| *p == bundle.truth.persona)
                .expect("every persona is in ALL"),
            scheme: bundle.truth.fraud.as_ref().map(|f| f.scheme),
            ..Customer::default()
        };
        let mut state = CustomerState::default();
        for p in &bundle.payments {
            let at = p.occurred_at.timestamp_millis();
            (first_ms, last_ms) = (first_ms.min(at), last_ms.max(at));
            let (hits, row) = detect_with_features(&mut state, p, &params);
            let listed = match p.counterparty.as_ref().and_then(|c| c.name.as_ref()) {
                None => 0.0,
                Some(name) => *screened.entry(name.as_str().to_owned()).or_insert_with(|| {
                    list.screen(
                        name.as_str(),
                        sextant_monitoring::screening::DEFAULT_THRESHOLD,
                    )
                    .first()
                    .map_or(0.0, |m| m.score)
                }),
            };
            let score = decide(hits.clone(), Vec::new(), None).score.max(listed);
            let alerts = cool_down(&mut state, at, hits);
            let is_planted = planted.contains(p.event_id.as_str());
            // A match on the list files a `sanctions` alert beside the typologies'.
            let filed = alerts.len() as u64 + u64::from(listed > 0.0);
            person.alerts_live += filed;
            person.planted_alerted_live |= is_planted && filed > 0;
            scored.push(Scored {
                customer: index as u32,
                score: score as f32,
                model: model.probability(&row).max(listed) as f32,
                planted: is_planted,
            });
        }
        people.push(person);
        if (index + 1) % 1_000 == 0 {
            progress(index + 1);
        }
    }
    let payments = scored.len() as u64;
    let detectors = at_rate(&scored, |s| s.score, alert_rate, &people);
    let by_model = at_rate(&scored, |s| s.model, alert_rate, &people);
    let mut by_scheme: Vec<SchemeRecall> = Scheme::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| SchemeRecall {
            scheme: s.as_str(),
            episodes: 0,
            caught_live: 0,
            recall_live: 0.0,
            caught_at_rate: 0,
            recall_at_rate: 0.0,
            planted_payments: 0,
            planted_payments_alerted_at_rate: detectors.scheme_payments_alerted[i],
            caught_at_rate_model: 0,
            recall_at_rate_model: 0.0,
            planted_payments_alerted_at_rate_model: by_model.scheme_payments_alerted[i],
        })
        .collect();
    for s in scored.iter().filter(|s| s.planted) {
        if let Some(scheme) = people[s.customer as usize].scheme {
            by_scheme[scheme_index(scheme)].planted_payments += 1;
        }
    }
    let days = if last_ms > first_ms {
        (last_ms - first_ms) as f64 / 86_400_000.0
    } else {
        0.0
    };
    let per_day = |alerts: u64, customers: u64| {
        if customers == 0 || days <= 0.0 {
            0.0
        } else {
            1_000.0 * alerts as f64 / customers as f64 / days
        }
    };
    let mut personas: Vec<PersonaFalsePositives> = Persona::ALL
        .iter()
        .map(|p| PersonaFalsePositives {
            persona: p.as_str(),
            customers: 0,
            clean_customers: 0,
            clean_alerted_live: 0,
            false_positive_rate_live: 0.0,
            alerts_per_1000_customers_per_day_live: 0.0,
            clean_alerted_at_rate: 0,
            false_positive_rate_at_rate: 0.0,
            clean_alerted_at_rate_model: 0,
            false_positive_rate_at_rate_model: 0.0,
        })
        .collect();
    let mut clean_alerts = vec![0u64; personas.len()];
    let mut episodes = 0;
    let mut alerts_live = 0;
    for (c, person) in people.iter().enumerate() {
        alerts_live += person.alerts_live;
        let row = &mut personas[person.persona];
        row.customers += 1;
        match person.scheme {
            Some(scheme) => {
                episodes += 1;
                let r = &mut by_scheme[scheme_index(scheme)];
                r.episodes += 1;
                r.caught_live += u64::from(person.planted_alerted_live);
                r.caught_at_rate += u64::from(detectors.customer_planted_alerted[c]);
                r.caught_at_rate_model += u64::from(by_model.customer_planted_alerted[c]);
            }
            None => {
                row.clean_customers += 1;
                row.clean_alerted_live += u64::from(person.alerts_live > 0);
                row.clean_alerted_at_rate += u64::from(detectors.customer_alerted[c]);
                row.clean_alerted_at_rate_model += u64::from(by_model.customer_alerted[c]);
                clean_alerts[person.persona] += person.alerts_live;
            }
        }
    }
    for (row, alerts) in personas.iter_mut().zip(clean_alerts) {
        row.false_positive_rate_live = ratio(row.clean_alerted_live, row.clean_customers);
        row.false_positive_rate_at_rate = ratio(row.clean_alerted_at_rate, row.clean_customers);
        row.false_positive_rate_at_rate_model =
            ratio(row.clean_alerted_at_rate_model, row.clean_customers);
        row.alerts_per_1000_customers_per_day_live = per_day(alerts, row.clean_customers);
    }
    for r in &mut by_scheme {
        r.recall_live = ratio(r.caught_live, r.episodes);
        r.recall_at_rate = ratio(r.caught_at_rate, r.episodes);
        r.recall_at_rate_model = ratio(r.caught_at_rate_model, r.episodes);
    }
    Ok(PopulationEval {
        customers,
        months,
        seed,
        payments,
        days,
        episodes,
        alert_rate,
        score_threshold: f64::from(detectors.threshold),
        payments_alerted_share: ratio(detectors.alerted, payments),
        precision_at_rate: ratio(detectors.alerted_planted, detectors.alerted),
        score_threshold_model: f64::from(by_model.threshold),
        payments_alerted_share_model: ratio(by_model.alerted, payments),
        precision_at_rate_model: ratio(by_model.alerted_planted, by_model.alerted),
        model: fitted.figures,
        model_training_seed: model_seed,
        alerts_per_1000_customers_per_day_live: per_day(alerts_live, customers),
        by_scheme,
        by_persona: personas,
        seconds: started.elapsed().as_secs_f64(),
    })
}
