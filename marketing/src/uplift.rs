//! What a campaign changed: conversion in treatment against holdout, the absolute uplift
//! with its interval and test, and the Qini curve of a targeting score.
//!
//! The interval is Newcombe's hybrid score interval for a difference of independent
//! proportions (method 10 of Newcombe 1998, "Interval estimation for the difference between
//! independent proportions: comparison of eleven methods", Statistics in Medicine 17:873-890),
//! built from the two Wilson score intervals. Unlike the Wald interval it stays inside
//! [-1, 1], behaves at 0% and 100% conversion and keeps close to its nominal coverage for
//! the small arms of a pilot campaign.

use statrs::function::erf::{erfc, erfc_inv};

use crate::holdout::Arm;

/// One arm's audience and how many of it converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArmCounts {
    pub customers: u64,
    pub conversions: u64,
}

impl ArmCounts {
    /// Counts that describe a real arm: someone in it, no more conversions than customers.
    fn is_valid(self) -> bool {
        self.customers > 0 && self.conversions <= self.customers
    }

    fn rate(self) -> f64 {
        self.conversions as f64 / self.customers as f64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Uplift {
    pub treatment_rate: f64,
    pub holdout_rate: f64,
    /// `treatment_rate - holdout_rate`.
    pub absolute: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The interval's confidence level, e.g. 0.95.
    pub confidence: f64,
    /// How the interval was computed: `"newcombe_wilson"`.
    pub method: &'static str,
    /// `absolute / holdout_rate` when `holdout_rate > 0`.
    pub relative: Option<f64>,
    /// Two-sided two-proportion z-test with the pooled rate (0 and p = 1 when the pooled
    /// rate is 0 or 1 and the arms cannot differ).
    pub z: f64,
    pub p_value: f64,
}

/// The uplift of treatment over holdout with a two-sided `confidence` interval. `None` when
/// either arm has no customers or more conversions than customers, or `confidence` is not
/// strictly between 0 and 1.
pub fn uplift(treatment: ArmCounts, holdout: ArmCounts, confidence: f64) -> Option<Uplift> {
    let confidence_is_a_level = confidence > 0.0 && confidence < 1.0; // false for NaN
    if !(treatment.is_valid() && holdout.is_valid() && confidence_is_a_level) {
        return None;
    }
    let z_critical = two_sided_z(confidence);
    let (treatment_rate, holdout_rate) = (treatment.rate(), holdout.rate());
    let (treatment_low, treatment_high) = wilson(treatment, z_critical);
    let (holdout_low, holdout_high) = wilson(holdout, z_critical);
    let absolute = treatment_rate - holdout_rate;
    // Newcombe's method 10: each side combines the two arms' Wilson half-widths in the
    // direction that moves the difference that way.
    let ci_low = absolute - (treatment_rate - treatment_low).hypot(holdout_high - holdout_rate);
    let ci_high = absolute + (treatment_high - treatment_rate).hypot(holdout_rate - holdout_low);
    let (z, p_value) = pooled_z_test(treatment, holdout);
    Some(Uplift {
        treatment_rate,
        holdout_rate,
        absolute,
        ci_low: ci_low.max(-1.0),
        ci_high: ci_high.min(1.0),
        confidence,
        method: "newcombe_wilson",
        relative: (holdout_rate > 0.0).then(|| absolute / holdout_rate),
        z,
        p_value,
    })
}

/// The standard normal quantile `z` with `P(|Z| <= z) = confidence`:
/// `Φ⁻¹(1 - α/2) = √2 · erfc⁻¹(α)` for `α = 1 - confidence`.
fn two_sided_z(confidence: f64) -> f64 {
    std::f64::consts::SQRT_2 * erfc_inv(1.0 - confidence)
}

/// The Wilson score interval of one arm's rate, clamped so that it holds the rate despite
/// rounding at 0% and 100%.
fn wilson(counts: ArmCounts, z: f64) -> (f64, f64) {
    let n = counts.customers as f64;
    let p = counts.rate();
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half_width = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    (
        (centre - half_width).clamp(0.0, p),
        (centre + half_width).clamp(p, 1.0),
    )
}

/// `(z, two-sided p)` of the pooled two-proportion z-test.
fn pooled_z_test(treatment: ArmCounts, holdout: ArmCounts) -> (f64, f64) {
    let (n_t, n_h) = (treatment.customers as f64, holdout.customers as f64);
    let pooled = (treatment.conversions + holdout.conversions) as f64 / (n_t + n_h);
    let standard_error = (pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_h)).sqrt();
    if standard_error == 0.0 {
        return (0.0, 1.0);
    }
    let z = (treatment.rate() - holdout.rate()) / standard_error;
    // 2 (1 - Φ(|z|)) written with erfc, which keeps its precision far into the tail.
    (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
}

/// The most points a Qini curve is cut into.
pub const MAX_QINI_POINTS: usize = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct QiniPoint {
    /// The share of members targeted so far, `(treated + holdout) / members`.
    pub targeted_fraction: f64,
    /// Treated members among those targeted.
    pub treated: u64,
    /// Holdout members among those targeted.
    pub holdout: u64,
    /// Conversions among the targeted treated beyond what the targeted holdout, scaled to
    /// the same size, predicts: `Y_t - Y_h · N_t / N_h` (`Y_t` while `N_h` is 0).
    pub incremental_conversions: f64,
    /// The random-targeting line: `targeted_fraction · incremental(all)`.
    pub random_incremental: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QiniCurve {
    pub points: Vec<QiniPoint>,
    /// `(A_score - A_random) / (A_ideal - A_random)`, where `A` is the area under the
    /// incremental-conversions curve over the targeted fraction 0..1 (trapezoids between
    /// the ends of groups of equal score, so the order of tied members does not matter),
    /// and the ideal ranking puts treated converters first and holdout converters last
    /// (scikit-uplift's `qini_auc_score`). 1 for the ideal ranking, about 0 for a random
    /// one, negative when worse than random; 0 when nothing converted or the ideal is no
    /// better than random.
    pub qini_coefficient: f64,
}

/// The Qini curve of a targeting score. `members` are `(score, arm, converted)`; they are
/// ranked by score, highest first, ties in input order, NaN scores last. The curve is cut
/// into `points` equal steps of the ranking (at least 1, at most [`MAX_QINI_POINTS`] and at
/// most one per member), so it has `steps + 1` points starting with (0, 0).
pub fn qini(members: &[(f64, Arm, bool)], points: usize) -> QiniCurve {
    if members.is_empty() {
        let origin = QiniPoint {
            targeted_fraction: 0.0,
            treated: 0,
            holdout: 0,
            incremental_conversions: 0.0,
            random_incremental: 0.0,
        };
        return QiniCurve {
            points: vec![origin],
            qini_coefficient: 0.0,
        };
    }
    let mut order: Vec<usize> = (0..members.len()).collect();
    // `sort_by` is stable: ties keep their input order.
    order.sort_by(|&a, &b| descending_nan_last(members[a].0, members[b].0));
    let ranked: Vec<(f64, Arm, bool)> = order.iter().map(|&i| members[i]).collect();

    let n = ranked.len();
    let steps = points.clamp(1, MAX_QINI_POINTS).min(n);
    let cumulative = cumulative(&ranked);
    let total = cumulative[n];
    let mut curve = Vec::with_capacity(steps + 1);
    for step in 0..=steps {
        // u128: `step * n` may not fit a usize for huge inputs.
        let cut = usize::try_from(step as u128 * n as u128 / steps as u128).expect("<= n");
        let at = cumulative[cut];
        let targeted_fraction = cut as f64 / n as f64;
        curve.push(QiniPoint {
            targeted_fraction,
            treated: at.treated,
            holdout: at.holdout,
            incremental_conversions: at.incremental(),
            random_incremental: targeted_fraction * total.incremental(),
        });
    }

    let random_area = 0.5 * total.incremental();
    let ideal_area = area(&ideal_order(&ranked));
    let denominator = ideal_area - random_area;
    // Areas are sums of conversion counts over `n` steps: anything below this is rounding.
    let qini_coefficient = if denominator > 1e-12 * (total.treated + total.holdout) as f64 {
        (area(&ranked) - random_area) / denominator
    } else {
        0.0
    };
    QiniCurve {
        points: curve,
        qini_coefficient,
    }
}

fn descending_nan_last(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// The members re-scored by the ideal ranking: treated converters 1, holdout converters -1,
/// everyone else 0.
fn ideal_order(ranked: &[(f64, Arm, bool)]) -> Vec<(f64, Arm, bool)> {
    let mut ideal: Vec<(f64, Arm, bool)> = ranked
        .iter()
        .map(|&(_, arm, converted)| {
            let score = match (arm, converted) {
                (Arm::Treatment, true) => 1.0,
                (Arm::Holdout, true) => -1.0,
                _ => 0.0,
            };
            (score, arm, converted)
        })
        .collect();
    ideal.sort_by(|a, b| descending_nan_last(a.0, b.0));
    ideal
}

/// The area under the incremental curve of ranked members over the fraction 0..1, with one
/// straight segment per group of equal scores.
fn area(ranked: &[(f64, Arm, bool)]) -> f64 {
    let n = ranked.len() as f64;
    let mut running = Counts::default();
    let (mut area, mut previous_x, mut previous_y) = (0.0, 0.0, 0.0);
    for (i, member) in ranked.iter().enumerate() {
        running.add(member);
        let group_ends = ranked
            .get(i + 1)
            .is_none_or(|next| descending_nan_last(member.0, next.0).is_ne());
        if group_ends {
            let (x, y) = ((i + 1) as f64 / n, running.incremental());
            area += (x - previous_x) * (y + previous_y) / 2.0;
            (previous_x, previous_y) = (x, y);
        }
    }
    area
}

/// Running totals of the ranked members targeted so far.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    treated: u64,
    holdout: u64,
    treated_conversions: u64,
    holdout_conversions: u64,
}

impl Counts {
    fn add(&mut self, &(_, arm, converted): &(f64, Arm, bool)) {
        match arm {
            Arm::Treatment => {
                self.treated += 1;
                self.treated_conversions += u64::from(converted);
            }
            Arm::Holdout => {
                self.holdout += 1;
                self.holdout_conversions += u64::from(converted);
            }
        }
    }

    fn incremental(&self) -> f64 {
        let expected_without_treatment = if self.holdout == 0 {
            0.0
        } else {
            self.holdout_conversions as f64 * self.treated as f64 / self.holdout as f64
        };
        self.treated_conversions as f64 - expected_without_treatment
    }
}

/// `cumulative(ranked)[k]` counts the first `k` members.
fn cumulative(ranked: &[(f64, Arm, bool)]) -> Vec<Counts> {
    let mut running = Counts::default();
    let mut out = Vec::with_capacity(ranked.len() + 1);
    out.push(running);
    for member in ranked {
        running.add(member);
        out.push(running);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counts(conversions: u64, customers: u64) -> ArmCounts {
        ArmCounts {
            customers,
            conversions,
        }
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn z_quantiles() {
        assert!(close(two_sided_z(0.95), 1.959_963_984_540_054, 1e-12));
        assert!(close(two_sided_z(0.99), 2.575_829_303_548_901, 1e-12));
        assert!(close(two_sided_z(0.90), 1.644_853_626_951_472_7, 1e-12));
        assert!(close(two_sided_z(0.6826894921370859), 1.0, 1e-12));
    }

    /// Newcombe (1998), Table II, method 10 (score interval, hybrid), for his eight unpaired
    /// examples (a)-(h), to the four decimals printed there. The same figures come out of an
    /// independent Python computation of the formulas (statistics.NormalDist for z).
    #[test]
    fn newcombe_table_ii() {
        let cases = [
            ((56, 70), (48, 80), 0.0524, 0.3339),
            ((9, 10), (3, 10), 0.1705, 0.8090),
            ((6, 7), (2, 7), 0.0582, 0.8062),
            ((5, 56), (0, 29), -0.0381, 0.1926),
            ((0, 10), (0, 20), -0.1611, 0.2775),
            ((0, 10), (0, 10), -0.2775, 0.2775),
            ((10, 10), (0, 20), 0.6791, 1.0000),
            ((10, 10), (0, 10), 0.6075, 1.0000),
        ];
        for ((x1, n1), (x2, n2), low, high) in cases {
            let u = uplift(counts(x1, n1), counts(x2, n2), 0.95).unwrap();
            assert!(
                close(u.ci_low, low, 5e-5) && close(u.ci_high, high, 5e-5),
                "{x1}/{n1} vs {x2}/{n2}: ({}, {}), expected ({low}, {high})",
                u.ci_low,
                u.ci_high
            );
        }
        let u = uplift(counts(56, 70), counts(48, 80), 0.95).unwrap();
        assert!(close(u.absolute, 0.2, 1e-12));
        assert_eq!((u.treatment_rate, u.holdout_rate), (0.8, 0.6));
        assert!(close(u.relative.unwrap(), 1.0 / 3.0, 1e-12));
        assert_eq!(u.method, "newcombe_wilson");
        assert_eq!(u.confidence, 0.95);
        // Pooled rate 104/150: z = 0.2 / sqrt(p (1 - p) (1/70 + 1/80)).
        assert!(close(u.z, 2.650_171_951_258_533_6, 1e-9));
        assert!(close(u.p_value, 0.008_045_081_368_196_568, 1e-9));
    }

    #[test]
    fn swapping_the_arms_mirrors_everything() {
        let forward = uplift(counts(30, 400), counts(18, 380), 0.95).unwrap();
        let backward = uplift(counts(18, 380), counts(30, 400), 0.95).unwrap();
        assert!(close(forward.absolute, -backward.absolute, 1e-15));
        assert!(close(forward.ci_low, -backward.ci_high, 1e-15));
        assert!(close(forward.ci_high, -backward.ci_low, 1e-15));
        assert!(close(forward.z, -backward.z, 1e-12));
        assert!(close(forward.p_value, backward.p_value, 1e-15));
        // Equal arms: no difference, a symmetric interval, nothing to test.
        let equal = uplift(counts(25, 500), counts(25, 500), 0.95).unwrap();
        assert_eq!(equal.absolute, 0.0);
        assert!(close(equal.ci_low, -equal.ci_high, 1e-15));
        assert_eq!((equal.z, equal.p_value), (0.0, 1.0));
        assert_eq!(equal.relative, Some(0.0));
    }

    #[test]
    fn nobody_or_everybody_converts() {
        let none = uplift(counts(0, 200), counts(0, 100), 0.95).unwrap();
        assert_eq!((none.absolute, none.relative), (0.0, None));
        assert_eq!((none.z, none.p_value), (0.0, 1.0));
        assert!(none.ci_low < 0.0 && none.ci_high > 0.0);
        let all = uplift(counts(200, 200), counts(100, 100), 0.95).unwrap();
        assert_eq!((all.absolute, all.relative), (0.0, Some(0.0)));
        assert_eq!((all.z, all.p_value), (0.0, 1.0));
        assert!(all.ci_low < 0.0 && all.ci_high > 0.0);
        // Mirror images of each other.
        assert!(close(none.ci_low, -all.ci_high, 1e-12));
        let extreme = uplift(counts(1_000, 1_000), counts(0, 1_000), 0.95).unwrap();
        assert_eq!(extreme.absolute, 1.0);
        assert_eq!(extreme.ci_high, 1.0);
        assert!(extreme.ci_low > 0.99 && extreme.p_value < 1e-100);
    }

    #[test]
    fn higher_confidence_widens_the_interval() {
        let (t, h) = (counts(60, 1_000), counts(40, 1_000));
        let ninety = uplift(t, h, 0.90).unwrap();
        let ninety_five = uplift(t, h, 0.95).unwrap();
        let ninety_nine = uplift(t, h, 0.99).unwrap();
        assert!(ninety_nine.ci_low < ninety_five.ci_low && ninety_five.ci_low < ninety.ci_low);
        assert!(ninety.ci_high < ninety_five.ci_high && ninety_five.ci_high < ninety_nine.ci_high);
        assert_eq!(ninety.z, ninety_nine.z);
    }

    #[test]
    fn refuses_arms_that_cannot_be_measured() {
        let good = counts(1, 10);
        assert_eq!(uplift(counts(0, 0), good, 0.95), None);
        assert_eq!(uplift(good, ArmCounts::default(), 0.95), None);
        assert_eq!(uplift(counts(11, 10), good, 0.95), None);
        assert_eq!(uplift(good, counts(11, 10), 0.95), None);
        for confidence in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert_eq!(uplift(good, good, confidence), None, "{confidence}");
        }
    }

    proptest! {
        #[test]
        fn the_interval_holds_the_estimate(
            n_t in 1u64..20_000, x_t in 0u64..20_000,
            n_h in 1u64..20_000, x_h in 0u64..20_000,
            confidence in 0.5f64..0.999,
        ) {
            let (t, h) = (counts(x_t % (n_t + 1), n_t), counts(x_h % (n_h + 1), n_h));
            let u = uplift(t, h, confidence).unwrap();
            prop_assert!(-1.0 <= u.ci_low && u.ci_low <= u.absolute, "{:?}", u);
            prop_assert!(u.absolute <= u.ci_high && u.ci_high <= 1.0, "{:?}", u);
            prop_assert!((0.0..=1.0).contains(&u.p_value), "{:?}", u);
            prop_assert!(u.z.is_finite());
        }
    }

    // ---- Qini ----

    use Arm::{Holdout as H, Treatment as T};

    #[test]
    fn a_small_curve_by_hand() {
        let members = [
            (0.9, T, true),
            (0.8, H, false),
            (0.7, T, false),
            (0.6, H, true),
        ];
        let curve = qini(&members, 2);
        let summary: Vec<(f64, u64, u64, f64, f64)> = curve
            .points
            .iter()
            .map(|p| {
                (
                    p.targeted_fraction,
                    p.treated,
                    p.holdout,
                    p.incremental_conversions,
                    p.random_incremental,
                )
            })
            .collect();
        // After two: 1 treated conversion, 0 of 1 in holdout. After all: 1 - 1 * 2/2 = 0.
        assert_eq!(
            summary,
            [
                (0.0, 0, 0, 0.0, 0.0),
                (0.5, 1, 1, 1.0, 0.0),
                (1.0, 2, 2, 0.0, 0.0)
            ]
        );
        // This is the ideal ranking: areas 0.75 against 0.75.
        assert_eq!(curve.qini_coefficient, 1.0);
        // Reversed, it is worse than random.
        let reversed: Vec<_> = members.iter().map(|&(s, a, c)| (-s, a, c)).collect();
        assert!(qini(&reversed, 2).qini_coefficient < 0.0);
    }

    /// 2,000 members, alternately treated and held out: the top-scored half are persuadable
    /// (convert only when treated), the rest convert at 10% whatever happens. Ranking by true
    /// uplift is far above random but below the ideal, which also knows who converts.
    fn population() -> Vec<(f64, Arm, bool)> {
        (0..2_000)
            .map(|i| {
                let arm = if i % 2 == 0 { T } else { H };
                let persuadable = i < 1_000;
                let converted = if persuadable {
                    arm == T && i % 4 == 0
                } else {
                    i % 10 < 2 && (i / 10) % 2 == 0
                };
                let score = if persuadable { 1.0 } else { 0.0 } + (i % 7) as f64 / 100.0;
                (score, arm, converted)
            })
            .collect()
    }

    #[test]
    fn an_uplift_ranking_is_above_random() {
        let curve = qini(&population(), 20);
        assert_eq!(curve.points.len(), 21);
        for point in &curve.points {
            assert!(
                point.incremental_conversions >= point.random_incremental - 1e-9,
                "{point:?}"
            );
        }
        assert!(
            curve.qini_coefficient > 0.3 && curve.qini_coefficient < 1.0,
            "{}",
            curve.qini_coefficient
        );
        let upside_down: Vec<_> = population().iter().map(|&(s, a, c)| (-s, a, c)).collect();
        assert!(qini(&upside_down, 20).qini_coefficient < 0.0);
    }

    #[test]
    fn endpoints() {
        let members = population();
        let curve = qini(&members, 7);
        let first = &curve.points[0];
        assert_eq!(
            (first.targeted_fraction, first.treated, first.holdout),
            (0.0, 0, 0)
        );
        assert_eq!(
            (first.incremental_conversions, first.random_incremental),
            (0.0, 0.0)
        );
        let last = curve.points.last().unwrap();
        let y_t = members.iter().filter(|m| m.1 == T && m.2).count() as f64;
        let y_h = members.iter().filter(|m| m.1 == H && m.2).count() as f64;
        assert_eq!(
            (last.targeted_fraction, last.treated, last.holdout),
            (1.0, 1_000, 1_000)
        );
        assert!(close(last.incremental_conversions, y_t - y_h, 1e-9));
        assert_eq!(last.random_incremental, last.incremental_conversions);
        // Seven steps over 2,000 members: cuts at floor(k * 2000 / 7).
        assert_eq!(curve.points.len(), 8);
        assert_eq!(curve.points[1].targeted_fraction, 285.0 / 2_000.0);
        assert!(curve
            .points
            .windows(2)
            .all(|w| w[0].targeted_fraction < w[1].targeted_fraction));
    }

    #[test]
    fn step_counts_are_bounded() {
        let members = [(1.0, T, true), (0.5, H, false), (0.2, T, false)];
        assert_eq!(qini(&members, 0).points.len(), 2);
        assert_eq!(qini(&members, 100).points.len(), 4);
        assert_eq!(
            qini(&population(), 1_000_000).points.len(),
            MAX_QINI_POINTS + 1
        );
        let empty = qini(&[], 10);
        assert_eq!(empty.points.len(), 1);
        assert_eq!(empty.qini_coefficient, 0.0);
        // Nothing converted: a flat curve, no coefficient to speak of.
        let flat = qini(&[(1.0, T, false), (0.0, H, false)], 2);
        assert_eq!(flat.qini_coefficient, 0.0);
        assert!(flat.points.iter().all(|p| p.incremental_conversions == 0.0));
    }

    #[test]
    fn ties_and_nan() {
        // The order of tied members changes neither the coefficient nor the result's
        // determinism; NaN scores rank last.
        let members = population();
        let mut shuffled = members.clone();
        shuffled.reverse();
        let (a, b) = (qini(&members, 10), qini(&shuffled, 10));
        assert!(close(a.qini_coefficient, b.qini_coefficient, 1e-12));
        assert_eq!(qini(&members, 10), a);
        let with_nan = [(f64::NAN, T, true), (0.1, H, false), (0.0, T, false)];
        let curve = qini(&with_nan, 3);
        assert_eq!(curve.points[1].treated, 0);
        assert_eq!(curve.points[1].holdout, 1);
        assert_eq!(curve.points[3].incremental_conversions, 1.0);
    }
}
