//! The journal's vocabulary: accounts, postings, their lines, lot moves and items.

use chrono::{DateTime, NaiveDate, Utc};

/// Where points sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// The customer's points: the bank's liability to them.
    Customer,
    /// Where earned points come from (and reversed ones return to).
    Issued,
    /// Points spent on purchases and fees.
    Redeemed,
    /// Points that lapsed.
    Expired,
    /// Staff adjustments, each with a reason.
    Adjusted,
}

impl Account {
    pub const ALL: [Account; 5] = [
        Account::Customer,
        Account::Issued,
        Account::Redeemed,
        Account::Expired,
        Account::Adjusted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Account::Customer => "customer",
            Account::Issued => "issued",
            Account::Redeemed => "redeemed",
            Account::Expired => "expired",
            Account::Adjusted => "adjusted",
        }
    }

    pub fn parse(text: &str) -> Option<Account> {
        Account::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// One side of a posting: points into (positive) or out of (negative) an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub account: Account,
    pub points: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostingKind {
    Earn,
    /// Points a campaign awards (on conversion): a lot like an earning, outside the caps.
    Bonus,
    ReverseEarn,
    Redeem,
    ReverseRedeem,
    Expire,
    Adjust,
}

impl PostingKind {
    pub const ALL: [PostingKind; 7] = [
        PostingKind::Earn,
        PostingKind::Bonus,
        PostingKind::ReverseEarn,
        PostingKind::Redeem,
        PostingKind::ReverseRedeem,
        PostingKind::Expire,
        PostingKind::Adjust,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostingKind::Earn => "earn",
            PostingKind::Bonus => "bonus",
            PostingKind::ReverseEarn => "reverse_earn",
            PostingKind::Redeem => "redeem",
            PostingKind::ReverseRedeem => "reverse_redeem",
            PostingKind::Expire => "expire",
            PostingKind::Adjust => "adjust",
        }
    }

    pub fn parse(text: &str) -> Option<PostingKind> {
        PostingKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A lot a posting opens: its first day and its last valid day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opens {
    pub earned_on: NaiveDate,
    pub expires_on: NaiveDate,
}

/// What one posting did to one lot: points added (positive) or taken (negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotMove {
    pub lot: String,
    pub points: i64,
}

/// One payment's points inside an accrual: an earning of its own (for idempotency and
/// refunds), held in the accrual's lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The payment's earning key: unique in the customer's journal, like a posting's.
    pub key: String,
    pub at: DateTime<Utc>,
    pub points: i64,
    /// How the points were worked out.
    pub why: String,
}

/// One entry of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The idempotency key: unique in the customer's journal.
    pub key: String,
    pub kind: PostingKind,
    pub at: DateTime<Utc>,
    /// The points asked for (earned, redeemed, adjusted by; for a reversal, the points of
    /// the posting reversed; for an expiry, the lot's remaining points).
    pub requested: i64,
    /// Sum to zero.
    pub lines: Vec<Line>,
    pub moves: Vec<LotMove>,
    /// The lot this posting opens (its id is the posting's key).
    pub opens: Option<Opens>,
    /// Points a reversal could not take back because they were already spent.
    pub shortfall: i64,
    /// The key of the posting this one reverses.
    pub reverses: Option<String>,
    /// Why: an adjustment's reason (required there), what a redemption paid for.
    pub reason: Option<String>,
    /// Who asked, for adjustments and redemptions.
    pub actor: Option<String>,
    /// An accrual's payments (their points sum to `requested`); empty for other postings.
    pub items: Vec<Item>,
}

impl Posting {
    /// Points into (positive) or out of the customer's account.
    pub fn customer_change(&self) -> i64 {
        self.total(Account::Customer)
    }

    /// The posting's net points on `account`.
    pub fn total(&self, account: Account) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.account == account)
            .map(|l| l.points)
            .sum()
    }
}
