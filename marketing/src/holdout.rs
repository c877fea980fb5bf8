//! Sticky hash assignment of a campaign's audience to treatment or holdout.

/// The two arms of a campaign. The holdout is never contacted and never offered the
/// campaign's product, so that its conversion measures what would have happened anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    Treatment,
    Holdout,
}

impl Arm {
    pub fn name(self) -> &'static str {
        match self {
            Arm::Treatment => "treatment",
            Arm::Holdout => "holdout",
        }
    }

    pub fn parse(text: &str) -> Option<Arm> {
        match text {
            "treatment" => Some(Arm::Treatment),
            "holdout" => Some(Arm::Holdout),
            _ => None,
        }
    }
}
