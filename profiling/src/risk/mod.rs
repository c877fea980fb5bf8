//! The risk profile: willingness (the questionnaire, or revealed behaviour until one is on
//! record) capped by capacity (what the payment history and age say the customer can afford
//! to lose). Suitability rules require exactly this: advice may never exceed either.

mod capacity;
mod questionnaire;
mod revealed;

use sextant_domain::RiskTolerance;

use crate::Features;

pub use capacity::capacity;
pub use questionnaire::{questionnaire, willingness_from_answers, AnswerError, Answers, Question};
pub use revealed::willingness_from_history;

/// A willingness score: points out of a maximum, and the level they map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub points: u32,
    pub max_points: u32,
    pub level: RiskTolerance,
}

/// One measured part of risk capacity, with the level it alone would allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub level: RiskTolerance,
    /// Plain language, with the value and the thresholds.
    pub explanation: String,
}

/// Where the willingness came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WillingnessSource {
    /// The customer answered the risk questionnaire.
    Questionnaire,
    /// Inferred from investing behaviour; provisional until the questionnaire is answered.
    Behaviour,
}

impl WillingnessSource {
    pub fn as_str(self) -> &'static str {
        match self {
            WillingnessSource::Questionnaire => "questionnaire",
            WillingnessSource::Behaviour => "behaviour",
        }
    }
}

/// The outcome: the level advice must respect, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskAssessment {
    /// `min(willingness, capacity)`.
    pub level: RiskTolerance,
    pub willingness: RiskTolerance,
    pub willingness_source: WillingnessSource,
    pub capacity: RiskTolerance,
    /// The capacity components, weakest binding.
    pub components: Vec<Component>,
    /// Plain language for the customer: which side set the level and why.
    pub explanation: String,
}

/// A level 1..=5; callers here only build levels in range.
pub(crate) fn tolerance(level: u8) -> RiskTolerance {
    RiskTolerance::new(level.clamp(1, 5)).expect("clamped into 1..=5")
}

/// C1 below 20% of the points, then one level per further 20%.
pub(crate) fn level_from_fraction(fraction: f64) -> RiskTolerance {
    let level = (fraction.clamp(0.0, 1.0) * 5.0).floor() as u8 + 1;
    tolerance(level.min(5))
}

/// The everyday name of a level.
pub fn level_name(level: RiskTolerance) -> &'static str {
    match level.get() {
        1 => "conservative",
        2 => "cautious",
        3 => "balanced",
        4 => "growth",
        _ => "aggressive",
    }
}

fn labelled(level: RiskTolerance) -> String {
    format!("{level} ({})", level_name(level))
}

/// Combines willingness with capacity: the level is the lower of the two.
pub fn assess(
    willingness: Score,
    source: WillingnessSource,
    features: &Features,
    age_years: u16,
) -> RiskAssessment {
    let (capacity, components) = capacity(features, age_years);
    let level = willingness.level.min(capacity);
    let explanation = explain(willingness.level, source, capacity, &components);
    RiskAssessment {
        level,
        willingness: willingness.level,
        willingness_source: source,
        capacity,
        components,
        explanation,
    }
}

fn explain(
    willingness: RiskTolerance,
    source: WillingnessSource,
    capacity: RiskTolerance,
    components: &[Component],
) -> String {
    let stated = match source {
        WillingnessSource::Questionnaire => {
            format!("Your answers put you at {}", labelled(willingness))
        }
        WillingnessSource::Behaviour => format!(
            "Your investing so far suggests {}, a provisional level until you answer the risk \
             questionnaire",
            labelled(willingness)
        ),
    };
    if willingness > capacity {
        // The weakest component is what holds capacity down.
        let binding = components
            .iter()
            .min_by_key(|c| c.level)
            .map_or_else(|| "your finances".to_owned(), capacity::limiting_phrase);
        format!(
            "{stated}, but {binding} limits what you can afford to lose, so your level is {}.",
            labelled(capacity)
        )
    } else if willingness < capacity {
        format!(
            "{stated}. Your finances could carry up to {capacity}, so your level is {}, set by \
             your own preference.",
            labelled(willingness)
        )
    } else {
        format!(
            "{stated}, which your finances can carry, so your level is {}.",
            labelled(willingness)
        )
    }
}

/// Whether a new assessment differs enough from the previous one to be recorded: the level,
/// the willingness, its source or the capacity changed. Component values drift every day;
/// only a change of level matters for suitability.
pub fn materially_changed(previous: &RiskAssessment, next: &RiskAssessment) -> bool {
    previous.level != next.level
        || previous.willingness != next.willingness
        || previous.willingness_source != next.willingness_source
        || previous.capacity != next.capacity
}

#[cfg(test)]
mod tests;
