//! From the typologies that fired on one payment to a decision the payment app acts on
//! before it authorises: `allow`, `review` (authorise, and put it in front of an analyst) or
//! `block`, with one risk score and the reasons.
//!
//! The score is the chance that at least one detector is right, each detector trusted
//! according to its typology's severity: `1 - prod(1 - severity * hit.score)`. One strong
//! hit of a severe typology blocks alone; several weak ones add up to a review. A live
//! compliance rule that fires counts as a hit of full strength with the rule's own severity
//! (shadow rules never count). The severities and thresholds are this policy's
//! ([`POLICY_VERSION`]), recorded with every assessment so that a replay decides as it was
//! decided. Policy 1 was the same without rules: an assessment decided under it replays
//! under this one.

use serde::{Deserialize, Serialize};

use crate::rules::{Mode, RuleHit};
use crate::{Hit, Typology};

/// The policy's version, recorded with each assessment.
pub const POLICY_VERSION: &str = "monitoring-policy-2";

/// The policies whose assessments this one replays: 1 had no rules, and decides as 2 does
/// without them.
pub const REPLAYABLE_POLICIES: [&str; 2] = ["monitoring-policy-1", POLICY_VERSION];

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

/// The decision on a payment from the hits [`crate::detect`] found on it and the rules
/// that fired ([`crate::rules::RuleSet::detect`]; shadow ones are left out).
pub fn decide(hits: Vec<Hit>, mut rules: Vec<RuleHit>) -> Decision {
    rules.retain(|r| r.mode == Mode::Live);
    rules.sort_by(|a, b| {
        b.severity
            .total_cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    let clear: f64 = hits
        .iter()
        .map(|h| 1.0 - severity(h.typology) * h.score.clamp(0.0, 1.0))
        .chain(rules.iter().map(|r| 1.0 - r.severity.clamp(0.0, 1.0)))
        .product();
    // Rounded so that the recorded score is the decided one, whatever prints it.
    let score = ((1.0 - clear) * 1e6).round() / 1e6;
    let verdict = if score >= BLOCK_AT {
        Verdict::Block
    } else if score >= REVIEW_AT {
        Verdict::Review
    } else {
        Verdict::Allow
    };
    Decision {
        verdict,
        score,
        hits,
        rules,
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
        let d = decide(vec![], vec![]);
        assert_eq!((d.verdict, d.score), (Verdict::Allow, 0.0));
    }

    #[test]
    fn a_strong_severe_hit_blocks_alone_and_a_weak_mild_one_does_not() {
        assert_eq!(
            decide(vec![hit(Typology::CardTesting, 1.0)], vec![]).verdict,
            Verdict::Block
        );
        assert_eq!(
            decide(vec![hit(Typology::RoundAmountTransfer, 0.5)], vec![]).verdict,
            Verdict::Allow
        );
        // At its threshold (score 0.5) a pass-through is worth a look, not a block.
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.5)], vec![]).verdict,
            Verdict::Allow
        );
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.6)], vec![]).verdict,
            Verdict::Review
        );
    }

    #[test]
    fn hits_add_up() {
        let one = decide(vec![hit(Typology::VelocitySpike, 0.6)], vec![]);
        let two = decide(
            vec![
                hit(Typology::VelocitySpike, 0.6),
                hit(Typology::RoundAmountTransfer, 0.6),
            ],
            vec![],
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
        let live = decide(vec![], vec![rule_hit(Mode::Live, 0.5)]);
        assert_eq!((live.verdict, live.score), (Verdict::Review, 0.5));
        assert_eq!(live.rules.len(), 1);
        let shadow = decide(vec![], vec![rule_hit(Mode::Shadow, 0.99)]);
        assert_eq!((shadow.verdict, shadow.score), (Verdict::Allow, 0.0));
        assert!(shadow.rules.is_empty());
        let both = decide(
            vec![hit(Typology::VelocitySpike, 0.6)],
            vec![rule_hit(Mode::Live, 0.9)],
        );
        let expected = 1.0 - (1.0 - 0.5 * 0.6) * (1.0 - 0.9);
        assert!((both.score - expected).abs() < 1e-6);
        assert_eq!(both.verdict, Verdict::Block);
    }
}
