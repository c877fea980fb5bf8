//! From the typologies that fired on one payment to a decision the payment app acts on
//! before it authorises: `allow`, `review` (authorise, and put it in front of an analyst) or
//! `block`, with one risk score and the reasons.
//!
//! The score is the chance that at least one detector is right, each detector trusted
//! according to its typology's severity: `1 - prod(1 - severity * hit.score)`. One strong
//! hit of a severe typology blocks alone; several weak ones add up to a review. The
//! severities and thresholds are this policy's ([`POLICY_VERSION`]), recorded with every
//! assessment so that a replay decides as it was decided.

use serde::{Deserialize, Serialize};

use crate::{Hit, Typology};

/// The policy's version, recorded with each assessment.
pub const POLICY_VERSION: &str = "monitoring-policy-1";

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

/// The decision on a payment from the hits [`crate::detect`] found on it.
pub fn decide(hits: Vec<Hit>) -> Decision {
    let clear: f64 = hits
        .iter()
        .map(|h| 1.0 - severity(h.typology) * h.score.clamp(0.0, 1.0))
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
        let d = decide(vec![]);
        assert_eq!((d.verdict, d.score), (Verdict::Allow, 0.0));
    }

    #[test]
    fn a_strong_severe_hit_blocks_alone_and_a_weak_mild_one_does_not() {
        assert_eq!(
            decide(vec![hit(Typology::CardTesting, 1.0)]).verdict,
            Verdict::Block
        );
        assert_eq!(
            decide(vec![hit(Typology::RoundAmountTransfer, 0.5)]).verdict,
            Verdict::Allow
        );
        // At its threshold (score 0.5) a pass-through is worth a look, not a block.
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.5)]).verdict,
            Verdict::Allow
        );
        assert_eq!(
            decide(vec![hit(Typology::PassThrough, 0.6)]).verdict,
            Verdict::Review
        );
    }

    #[test]
    fn hits_add_up() {
        let one = decide(vec![hit(Typology::VelocitySpike, 0.6)]);
        let two = decide(vec![
            hit(Typology::VelocitySpike, 0.6),
            hit(Typology::RoundAmountTransfer, 0.6),
        ]);
        assert!(two.score > one.score);
        assert!(two.score < 1.0);
        let expected = 1.0 - (1.0 - 0.5 * 0.6) * (1.0 - 0.3 * 0.6);
        assert!((two.score - expected).abs() < 1e-6);
    }
}
