//! A campaign's statuses and the moves between them. A campaign is created as a draft,
//! launched once (draft to running, with its members), paused and resumed, and stopped for
//! good; the store applies a move only if the campaign is still in one of the move's
//! starting statuses, so two concurrent moves never both apply.

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    Draft,
    Running,
    Paused,
    Stopped,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 4] = [
        CampaignStatus::Draft,
        CampaignStatus::Running,
        CampaignStatus::Paused,
        CampaignStatus::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Running => "running",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Stopped => "stopped",
        }
    }

    pub fn parse(text: &str) -> Option<CampaignStatus> {
        CampaignStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether its members are live: a running or paused campaign keeps its holdout away
    /// from its product.
    pub fn is_live(self) -> bool {
        matches!(self, CampaignStatus::Running | CampaignStatus::Paused)
    }
}

/// A move a marketer asks for once the campaign exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Draft to running, with the members chosen now: once.
    Launch,
    /// Running to paused: no contacts are listed and its product is not featured.
    Pause,
    /// Paused to running.
    Resume,
    /// Any status but stopped to stopped, for good; the report stays readable.
    Stop,
}

impl Move {
    /// The statuses the move starts from.
    pub fn from(self) -> &'static [CampaignStatus] {
        use CampaignStatus::*;
        match self {
            Move::Launch => &[Draft],
            Move::Pause => &[Running],
            Move::Resume => &[Paused],
            Move::Stop => &[Draft, Running, Paused],
        }
    }

    /// Where the move ends.
    pub fn to(self) -> CampaignStatus {
        match self {
            Move::Launch | Move::Resume => CampaignStatus::Running,
            Move::Pause => CampaignStatus::Paused,
            Move::Stop => CampaignStatus::Stopped,
        }
    }

    /// The status after the move from `status`, if the move may start there.
    pub fn apply(self, status: CampaignStatus) -> Option<CampaignStatus> {
        self.from().contains(&status).then_some(self.to())
    }

    /// The starting statuses' names, as the store compares them.
    pub fn from_names(self) -> Vec<&'static str> {
        self.from().iter().map(|s| s.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(CampaignStatus::parse("scheduled"), None);
    }

    #[test]
    fn moves_start_where_they_may_and_end_where_they_say() {
        use CampaignStatus::*;
        let table = [
            (Move::Launch, Draft, Some(Running)),
            (Move::Launch, Running, None),
            (Move::Launch, Stopped, None),
            (Move::Pause, Running, Some(Paused)),
            (Move::Pause, Draft, None),
            (Move::Pause, Paused, None),
            (Move::Resume, Paused, Some(Running)),
            (Move::Resume, Running, None),
            (Move::Stop, Draft, Some(Stopped)),
            (Move::Stop, Running, Some(Stopped)),
            (Move::Stop, Paused, Some(Stopped)),
            (Move::Stop, Stopped, None),
        ];
        for (movement, from, expected) in table {
            assert_eq!(movement.apply(from), expected, "{movement:?} from {from:?}");
        }
    }

    #[test]
    fn a_stopped_campaign_never_moves_again_and_only_a_draft_launches() {
        for movement in [Move::Launch, Move::Pause, Move::Resume, Move::Stop] {
            assert_eq!(movement.apply(CampaignStatus::Stopped), None);
            assert!(movement
                .from()
                .iter()
                .all(|s| *s != CampaignStatus::Stopped));
        }
        assert_eq!(Move::Launch.from(), &[CampaignStatus::Draft]);
        assert!(CampaignStatus::Running.is_live() && CampaignStatus::Paused.is_live());
        assert!(!CampaignStatus::Draft.is_live() && !CampaignStatus::Stopped.is_live());
    }
}
