//! From the typologies that fired on one payment to a decision the payment app acts on
//! before it authorises: `allow`, `review` (authorise, and put it in front of an analyst) or
//! `block`, with one risk score and the reasons.
//!
//! Two ways to score, one policy ([`POLICY_VERSION`], recorded with every assessment so that
//! a replay decides as it was decided):
//!
//! - **With a monitoring model in force** (trained on labelled payments: the population's
//!   ground truth or closed cases), the score is the chance that the model or a live
//!   compliance rule is right: `1 - (1 - p) * prod(1 - rule severity)`, with `p` the model's
//!   calibrated probability. The model reads every typology's score among its features, so
//!   it weighs the detectors as the labels taught it (a velocity spike of a small-business
//!   owner's lumpy month counts for little); they stay in the reasons. A payment is reviewed
//!   from the model's own threshold (the probability at which the share of payments it was
//!   trained to alert would be reviewed, never above [`REVIEW_AT`]) and blocked from
//!   [`BLOCK_AT`].
//! - **Without a model**, each detector is trusted according to its typology's severity:
//!   `1 - prod(1 - severity * hit.score) * prod(1 - rule severity)`. One strong hit of a
//!   severe typology blocks alone; several weak ones add up to a review.
//!
//! Either way, a payment whose counterparty's name matches the sanctions list in force is
//! blocked ([`Decision::screened`]): no bank pays a listed party, whatever the score says.
//!
//! Shadow rules never count. Policy 3 did not screen counterparties, policy 2 was the second
//! way alone and policy 1 the same without rules: their assessments replay under this one.

use serde::{Deserialize, Serialize};

use crate::rules::{Mode, RuleHit};
use crate::screening::Match;
use crate::{Hit, Typology};

/// The policy's version, recorded with each assessment.
pub const POLICY_VERSION: &str = "monitoring-policy-4";

/// The policies whose assessments this one replays: 1 had no rules, 2 no model and 3 no
/// screening, and this one decides as they did without them.
pub const REPLAYABLE_POLICIES: [&str; 4] = [
    "monitoring-policy-1",
    "monitoring-policy-2",
    "monitoring-policy-3",
    POLICY_VERSION,
];

/// At or above this score: block.
pub const BLOCK_AT: f64 = 0.8;
/// At or above this score (and under [`BLOCK_AT`]): review.
pub const REVIEW_AT: f64 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Review,
    Block,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Review => "review",
            Verdict::Block => "block",
        }
    }
}

/// What the monitoring model in force made of the payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The model's version in the registry.
    pub version: String,
    /// Calibrated: the chance that the payment is fraud or laundering.
    pub probability: f64,
    /// The model's review threshold.
    pub review_at: f64,
    /// What raised the probability most, in plain words, most first.
    pub reasons: Vec<String>,
}

/// What the policy decided about one payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// 0..=1: how likely the payment is fraud or laundering, by the detectors that fired.
    pub score: f64,
    /// The detectors that fired, strongest first.
    pub hits: Vec<Hit>,
    /// The live rules that fired, most severe first.
    pub rules: Vec<RuleHit>,
    /// The model's reading, when one is in force.
    pub model: Option<ModelScore>,
    /// The sanctions list's entries the counterparty's name matched, best first.
    pub sanctions: Vec<Match>,
}

impl Decision {
    /// The decision once the payment's counterparty was screened: any match blocks, and the
    /// score is at least the best match's.
    pub fn screened(mut self, mut matches: Vec<Match>) -> Decision {
        if matches.is_empty() {
            return self;
        }
        matches.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.ent_num.cmp(&b.ent_num))
        });
        let best = (matches[0].score * 1e6).round() / 1e6;
        self.score = self.score.max(best);
        self.verdict = Verdict::Block;
        self.sanctions = matches;
        self
    }
}

/// How much one typology's hit weighs: how often, when it fires at full strength, the
/// payment is what it looks like. Card testing and account takeover are rarely innocent; a
/// round amount or a busy day often is.
pub fn severity(typology: Typology) -> f64 {
    match typology {
        Typology::CardTesting => 0.95,
        Typology::AccountTakeover => 0.9,
        Typology::HighRiskJurisdiction => 0.85,
        Typology::PassThrough => 0.7,
        Typology::Structuring => 0.7,
        Typology::DormantReactivated => 0.6,
        Typology::VelocitySpike => 0.5,
        Typology::RoundAmountTransfer => 0.3,
    }
}

/// The decision on a payment from the hits [`crate::detect`] found on it, the rules that
/// fired ([`crate::rules::RuleSet::detect`]; shadow ones are left out) and the model's
/// reading when a model is in force.
pub fn decide(hits: Vec<Hit>, mut rules: Vec<RuleHit>, model: Option<ModelScore>) -> Decision {
    rules.retain(|r| r.mode == Mode::Live);
    rules.sort_by(|a, b| {
        b.severity
            .total_cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    let rules_clear: f64 = rules
        .iter()
        .map(|r| 1.0 - r.severity.clamp(0.0, 1.0))
        .product();
    let (clear, review_at) = match &model {
        Some(m) => (
            (1.0 - m.probability.clamp(0.0, 1.0)) * rules_clear,
            m.review_at.clamp(0.0, REVIEW_AT),
        ),
        None => (
            hits.iter()
                .map(|h| 1.0 - severity(h.typology) * h.score.clamp(0.0, 1.0))
                .product::<f64>()
                * rules_clear,
            REVIEW_AT,
        ),
    };
    // Rounded so that the recorded score is the decided one, whatever prints it.
    let score = ((1.0 - clear) * 1e6).round() / 1e6;
    let verdict = if score >= BLOCK_AT {
        Verdict::Block
    } else if score >= review_at && score > 0.0 {
        Verdict::Review
    } else {
        Verdict::Allow
    };
    Decision {
        verdict,
        score,
        hits,
        rules,
        model,
        sanctions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(typology: Typology, score: f64) -> Hit {
        Hit {
            typology,
            score,
            reason: String::new(),
        }
    }

    #[test]
    fn nothing_fired_is_allowed_with_score_zero() {
        let d = decide(vec![], vec![], None);
        assert_eq!((d.verdict, d.score), (Verdict::Allow, 0.0));
    }

    #[test]
    fn a_strong_severe_hit_blocks_alone_and_a_weak_mild_one_does_not() {
        assert_eq!(
            decide(vec![hit(Typology::CardTesting, 1.0)], vec![], None).verdict,
            Verdict::Block
        );
        assert_eq!(
            decide(vec![hit(Typology::RoundAmountTransfer, 0.5)], vec![], None).verdict,
            Verdict::Allow
        );
        // At its threshold (score 0.5) a pass-through is worth a look, not a block.
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.5)], vec![], None).verdict,
            Verdict::Allow
        );
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.6)], vec![], None).verdict,
            Verdict::Review
        );
    }

    #[test]
    fn hits_add_up() {
        let one = decide(vec![hit(Typology::VelocitySpike, 0.6)], vec![], None);
        let two = decide(
            vec![
                hit(Typology::VelocitySpike, 0.6),
                hit(Typology::RoundAmountTransfer, 0.6),
            ],
            vec![],
            None,
        );
        assert!(two.score > one.score);
        assert!(two.score < 1.0);
        let expected = 1.0 - (1.0 - 0.5 * 0.6) * (1.0 - 0.3 * 0.6);
        assert!((two.score - expected).abs() < 1e-6);
    }

    fn rule_hit(mode: Mode, severity: f64) -> RuleHit {
        RuleHit {
            rule_id: "r".into(),
            version: 1,
            mode,
            severity,
            reason: String::new(),
            values: vec![],
        }
    }

    #[test]
    fn live_rules_weigh_with_their_severity_and_shadow_rules_not_at_all() {
        let live = decide(vec![], vec![rule_hit(Mode::Live, 0.5)], None);
        assert_eq!((live.verdict, live.score), (Verdict::Review, 0.5));
        assert_eq!(live.rules.len(), 1);
        let shadow = decide(vec![], vec![rule_hit(Mode::Shadow, 0.99)], None);
        assert_eq!((shadow.verdict, shadow.score), (Verdict::Allow, 0.0));
        assert!(shadow.rules.is_empty());
        let both = decide(
            vec![hit(Typology::VelocitySpike, 0.6)],
            vec![rule_hit(Mode::Live, 0.9)],
            None,
        );
        let expected = 1.0 - (1.0 - 0.5 * 0.6) * (1.0 - 0.9);
        assert!((both.score - expected).abs() < 1e-6);
        assert_eq!(both.verdict, Verdict::Block);
    }

    fn model(probability: f64, review_at: f64) -> Option<ModelScore> {
        Some(ModelScore {
            version: "m1".into(),
            probability,
            review_at,
            reasons: vec![],
        })
    }

    #[test]
    fn with_a_model_the_model_weighs_the_typologies_and_sets_the_review_threshold() {
        // A hit the detectors alone would block, that the model has learned is innocent.
        let hits = vec![
            hit(Typology::VelocitySpike, 1.0),
            hit(Typology::RoundAmountTransfer, 1.0),
        ];
        assert_eq!(decide(hits.clone(), vec![], None).verdict, Verdict::Review);
        let calm = decide(hits.clone(), vec![], model(0.01, 0.05));
        assert_eq!((calm.verdict, calm.score), (Verdict::Allow, 0.01));
        assert_eq!(calm.hits.len(), 2, "the typologies stay among the reasons");
        // The model's own review threshold, under the policy's.
        let odd = decide(vec![], vec![], model(0.06, 0.05));
        assert_eq!(odd.verdict, Verdict::Review);
        let capped = decide(vec![], vec![], model(0.45, 0.9));
        assert_eq!(
            capped.verdict,
            Verdict::Review,
            "never reviewed later than REVIEW_AT"
        );
        assert_eq!(
            decide(vec![], vec![], model(0.85, 0.05)).verdict,
            Verdict::Block
        );
        // A live rule still weighs with its severity.
        let ruled = decide(vec![], vec![rule_hit(Mode::Live, 0.5)], model(0.2, 0.3));
        assert!((ruled.score - (1.0 - 0.8 * 0.5)).abs() < 1e-9);
        assert_eq!(ruled.verdict, Verdict::Review);
    }

    fn listed(ent_num: u64, score: f64) -> Match {
        Match {
            ent_num,
            listed_name: format!("LISTED {ent_num}"),
            matched_name: format!("LISTED {ent_num}"),
            kind: "individual".into(),
            programme: "SDGT".into(),
            score,
        }
    }

    #[test]
    fn a_sanctions_match_blocks_whatever_the_score_and_no_match_changes_nothing() {
        let calm = decide(vec![], vec![], model(0.01, 0.05));
        assert_eq!(calm.clone().screened(vec![]), calm);
        let blocked = calm.screened(vec![listed(7, 0.91), listed(3, 0.97)]);
        assert_eq!(blocked.verdict, Verdict::Block);
        assert_eq!(blocked.score, 0.97);
        assert_eq!(blocked.sanctions[0].ent_num, 3, "best first");
        // A higher score stays.
        let severe = decide(vec![hit(Typology::CardTesting, 1.0)], vec![], None);
        let score = severe.score;
        assert_eq!(severe.screened(vec![listed(1, 0.9)]).score, score);
    }
}
