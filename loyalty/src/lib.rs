//! Loyalty points: what customers earn on their payments, hold and spend.
//!
//! - [`ledger`]: one customer's points as an append-only, double-entry journal. Points are
//!   held in lots (earning day, expiry), spent oldest first; every posting has an
//!   idempotency key, so a posting sent twice has one effect; a reversal takes back what it
//!   can and records the shortfall, never driving a balance below zero.
//! - [`activity`]: a customer's points over a window, as profiles read them.
//! - [`earning`]: the rules run on a customer's new payments against their ledger: what
//!   purchases earn, what refunds take back.
//! - [`rules`]: the versioned earning rules (points per unit of spend by category, channel
//!   and merchant, tier multipliers from rolling 12-month spend, daily and monthly caps, no
//!   points on refunds, transfers or cash) and the published value of a point.
//!
//! Pure and deterministic: no clock (every day is an input), no I/O. The store keeps the
//! journal and the lots; the services decide through this crate.

pub mod activity;
pub mod earning;
pub mod ledger;
pub mod rules;

pub use activity::{Activity, Movement};
pub use earning::{
    earn_on_payments, earning_key, refund_key, Outcome, Spend, SpendHistory, TIER_WINDOW_DAYS,
};
pub use ledger::{
    accrual_key, expiry_key, Account, Applied, CustomerLedger, Item, LedgerError, Line, Lot,
    LotMove, Opens, Posting, PostingKind, Snapshot, MAX_POINTS,
};
pub use rules::{
    Boost, CategoryMultiplier, EarnContext, Earning, EarningRules, NoPoints, PointValue, Tier,
    ONE_X,
};
