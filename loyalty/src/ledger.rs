//! One customer's points: an append-only, double-entry journal and the lots it holds.
//!
//! **Accounts.** Points sit in the customer's account (what the bank owes them, its
//! liability) and move to or from four others: `issued` (earning creates points there),
//! `redeemed`, `expired` and `adjusted` (staff). Every posting's lines sum to zero, so the
//! journal as a whole does, and the customer's balance is minus the sum of the others.
//!
//! **Lots.** Each earning (or positive adjustment) opens a lot: its day, its last valid day
//! and the points still in it. Payments earn through accruals: one posting (and one lot) for
//! the payments of a batch that expire on the same day, each payment an item of it with its
//! own key and points, so a payment still earns once and its refund finds its points.
//! Spending takes from the lot that expires first (then the oldest, then by key), so points are never lost to expiry while younger ones are spent.
//! A balance is always the sum of its lots' remaining points, and no lot goes below zero.
//!
//! **Idempotency.** Every posting has a key. Sent again with the same content it changes
//! nothing and gives the first posting back; with other content it is refused.
//!
//! **Reversals.** A refunded earning takes its points back from its own lot first, then
//! from the others in spending order; what was already spent cannot be taken, and is
//! recorded as the posting's shortfall: the balance reaches zero, never below. A
//! redemption can be reversed within its window: its points go back to the lots they came
//! from, or straight to `expired` for a lot whose last day has passed.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

mod journal;

pub use journal::{Account, Item, Line, LotMove, Opens, Posting, PostingKind};

impl Posting {
    /// Whether a second request is this one again (same kind, points, target, reason).
    fn same_request(&self, other: &Request) -> bool {
        self.kind == other.kind
            && self.requested == other.requested
            && self.reverses == other.reverses
            && self.reason == other.reason
            && self.opens.map(|o| o.expires_on) == other.expires_on
    }
}

/// Points held from one earning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// The key of the posting that opened it.
    pub id: String,
    pub earned_on: NaiveDate,
    /// The last day its points can be spent.
    pub expires_on: NaiveDate,
    pub points: i64,
    pub remaining: i64,
}

impl Lot {
    fn spendable_on(&self, day: NaiveDate) -> bool {
        self.remaining > 0 && self.expires_on >= day
    }

    /// The order points are spent in: the soonest to expire first.
    fn spending_order(&self) -> (NaiveDate, NaiveDate, &str) {
        (self.expires_on, self.earned_on, &self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the key `{0}` was already used for a different posting")]
    KeyReused(String),
    #[error("points must be above zero")]
    NotPositive,
    #[error("at most {max} points in one posting", max = MAX_POINTS)]
    TooLarge,
    #[error("{available} points can be spent, {requested} were asked")]
    Insufficient { available: i64, requested: i64 },
    #[error("no {kind} posting `{key}` to reverse")]
    Unknown { kind: &'static str, key: String },
    #[error("`{key}` was already reversed by `{by}`")]
    AlreadyReversed { key: String, by: String },
    #[error("the redemption could be reversed until {0}")]
    WindowClosed(NaiveDate),
    #[error("an adjustment needs a reason")]
    ReasonRequired,
    #[error("a lot's last day cannot be before the day it is earned")]
    ExpiresBeforeEarned,
    #[error("the journal is inconsistent: {0}")]
    Corrupt(String),
}

/// Most points one posting moves: far beyond any purchase, and small enough that no sum of
/// a customer's postings overflows.
pub const MAX_POINTS: i64 = 1_000_000_000;

/// What a call did: the posting, and whether it was already in the journal (a repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub posting: Posting,
    pub repeated: bool,
    /// The posting's place in the journal (0 = the first).
    pub seq: usize,
}

/// A request, for telling a repeat from a reused key.
struct Request {
    kind: PostingKind,
    requested: i64,
    reverses: Option<String>,
    reason: Option<String>,
    expires_on: Option<NaiveDate>,
}

/// Balances at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Points in the customer's account (every lot's remaining points).
    pub balance: i64,
    /// Points that can be spent on the day asked (lots not past their last day).
    pub spendable: i64,
}

/// One customer's journal and lots.
#[derive(Debug, Clone, Default)]
pub struct CustomerLedger {
    lots: Vec<Lot>,
    /// Lot id -> its place in `lots`.
    lot_at: HashMap<String, usize>,
    journal: Vec<Posting>,
    by_key: HashMap<String, usize>,
    /// Posting key -> the key of its (last) reversal.
    reversed_by: HashMap<String, String>,
    /// Earning key -> the points its reversals took back or asked for (a partial refund
    /// reverses part of an earning; several may follow one another).
    earn_reversed: HashMap<String, i64>,
    /// An accrual item's key -> its posting's place in `journal` and its place there.
    item_at: HashMap<String, (usize, usize)>,
}

fn check_points(points: i64) -> Result<(), LedgerError> {
    if points <= 0 {
        return Err(LedgerError::NotPositive);
    }
    if points > MAX_POINTS {
        return Err(LedgerError::TooLarge);
    }
    Ok(())
}

impl CustomerLedger {
    pub fn new() -> CustomerLedger {
        CustomerLedger::default()
    }

    /// Rebuilds the ledger from its journal, in order, checking each posting balances and
    /// each lot move stays within its lot.
    pub fn replay(
        journal: impl IntoIterator<Item = Posting>,
    ) -> Result<CustomerLedger, LedgerError> {
        let mut ledger = CustomerLedger::new();
        for posting in journal {
            ledger.append(posting)?;
        }
        Ok(ledger)
    }

    /// Drops every posting after the first `len` (what a refused step added), the lots
    /// rebuilt as the shorter journal leaves them.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.journal.len() {
            return;
        }
        let mut journal = std::mem::take(&mut self.journal);
        journal.truncate(len);
        *self = CustomerLedger::replay(journal).expect("a prefix of a checked journal replays");
    }

    pub fn journal(&self) -> &[Posting] {
        &self.journal
    }

    pub fn lots(&self) -> &[Lot] {
        &self.lots
    }

    pub fn posting(&self, key: &str) -> Option<&Posting> {
        self.by_key.get(key).map(|&i| &self.journal[i])
    }

    /// Whether `key` is taken: by a posting, or by an accrual's item.
    pub fn is_posted(&self, key: &str) -> bool {
        self.by_key.contains_key(key) || self.item_at.contains_key(key)
    }

    /// The accrual item under `key`.
    pub fn item(&self, key: &str) -> Option<&Item> {
        self.item_at
            .get(key)
            .map(|&(p, i)| &self.journal[p].items[i])
    }

    /// An earning's points and the lot that holds them: an accrual's item, or an earning
    /// posting of its own.
    fn earning(&self, key: &str) -> Option<(i64, &str)> {
        if let Some(&(p, i)) = self.item_at.get(key) {
            let posting = &self.journal[p];
            return Some((posting.items[i].points, posting.key.as_str()));
        }
        self.posting(key)
            .filter(|p| p.kind == PostingKind::Earn && p.items.is_empty())
            .map(|p| (p.requested, p.key.as_str()))
    }

    /// The points an earning (an accrual's item or an earning posting) earned.
    pub fn earned(&self, key: &str) -> Option<i64> {
        self.earning(key).map(|(points, _)| points)
    }

    /// The key of the posting that reversed `key`, if any.
    pub fn reversal_of(&self, key: &str) -> Option<&str> {
        self.reversed_by.get(key).map(String::as_str)
    }

    pub fn snapshot(&self, day: NaiveDate) -> Snapshot {
        Snapshot {
            balance: self.lots.iter().map(|l| l.remaining).sum(),
            spendable: self
                .lots
                .iter()
                .filter(|l| l.spendable_on(day))
                .map(|l| l.remaining)
                .sum(),
        }
    }

    /// The net points of every posting on `account`.
    pub fn account_total(&self, account: Account) -> i64 {
        self.journal.iter().map(|p| p.total(account)).sum()
    }

    /// Checks a posting and adds it: lines balance, moves keep every lot within 0..=points,
    /// the customer's line equals the moves, the key is new.
    fn append(&mut self, posting: Posting) -> Result<(), LedgerError> {
        let corrupt = |what: String| LedgerError::Corrupt(format!("`{}`: {what}", posting.key));
        if self.is_posted(&posting.key) {
            return Err(corrupt("the key appears twice".into()));
        }
        if posting.lines.iter().map(|l| l.points).sum::<i64>() != 0 {
            return Err(corrupt("its lines do not sum to zero".into()));
        }
        if !posting.items.is_empty() {
            if posting.kind != PostingKind::Earn || posting.opens.is_none() {
                return Err(corrupt("items on a posting other than an accrual".into()));
            }
            let mut sum = 0i64;
            let mut keys = std::collections::HashSet::with_capacity(posting.items.len());
            for item in &posting.items {
                if item.points <= 0 {
                    return Err(corrupt(format!("item `{}` earns no points", item.key)));
                }
                // A taken key is what `accrue` refuses, and what a replay reports.
                if item.key == posting.key || self.is_posted(&item.key) || !keys.insert(&item.key) {
                    return Err(LedgerError::KeyReused(item.key.clone()));
                }
                sum = sum.saturating_add(item.points);
            }
            if sum != posting.requested {
                return Err(corrupt("its items do not add up to its points".into()));
            }
        }
        if let Some(opens) = posting.opens {
            if opens.expires_on < opens.earned_on {
                return Err(LedgerError::ExpiresBeforeEarned);
            }
            self.lot_at.insert(posting.key.clone(), self.lots.len());
            self.lots.push(Lot {
                id: posting.key.clone(),
                earned_on: opens.earned_on,
                expires_on: opens.expires_on,
                points: posting.requested,
                remaining: 0,
            });
        }
        let mut moved = 0;
        for m in &posting.moves {
            let lot = self
                .lot_at
                .get(&m.lot)
                .map(|&i| &mut self.lots[i])
                .ok_or_else(|| corrupt(format!("it moves unknown lot `{}`", m.lot)))?;
            let remaining = lot.remaining + m.points;
            if !(0..=lot.points).contains(&remaining) {
                return Err(corrupt(format!("lot `{}` would hold {remaining}", m.lot)));
            }
            lot.remaining = remaining;
            moved += m.points;
        }
        if moved != posting.customer_change() {
            return Err(corrupt(
                "its lot moves differ from the customer's line".into(),
            ));
        }
        if let Some(target) = &posting.reverses {
            self.reversed_by.insert(target.clone(), posting.key.clone());
            if posting.kind == PostingKind::ReverseEarn {
                *self.earn_reversed.entry(target.clone()).or_default() += posting.requested;
            }
        }
        let seq = self.journal.len();
        for (i, item) in posting.items.iter().enumerate() {
            self.item_at.insert(item.key.clone(), (seq, i));
        }
        self.by_key.insert(posting.key.clone(), seq);
        self.journal.push(posting);
        Ok(())
    }

    /// The earlier posting under `key`, if the same request; an error if another.
    fn repeat(&self, key: &str, request: &Request) -> Result<Option<Applied>, LedgerError> {
        if self.item_at.contains_key(key) {
            return Err(LedgerError::KeyReused(key.to_owned()));
        }
        match self.by_key.get(key).map(|&seq| (seq, &self.journal[seq])) {
            None => Ok(None),
            Some((seq, p)) if p.same_request(request) => Ok(Some(Applied {
                posting: p.clone(),
                repeated: true,
                seq,
            })),
            Some(_) => Err(LedgerError::KeyReused(key.to_owned())),
        }
    }

    fn commit(&mut self, posting: Posting) -> Result<Applied, LedgerError> {
        let seq = self.journal.len();
        self.append(posting.clone())?;
        Ok(Applied {
            posting,
            repeated: false,
            seq,
        })
    }

    /// Takes up to `points` from the lots `eligible` allows, `first` (a lot id) before the
    /// rest, the rest in spending order. Returns the moves (negative) and the points taken.
    fn take(
        &self,
        points: i64,
        first: Option<&str>,
        eligible: impl Fn(&Lot) -> bool,
    ) -> (Vec<LotMove>, i64) {
        let mut order: Vec<&Lot> = self
            .lots
            .iter()
            .filter(|l| l.remaining > 0 && eligible(l))
            .collect();
        order.sort_by(|a, b| {
            let first_a = Some(a.id.as_str()) == first;
            let first_b = Some(b.id.as_str()) == first;
            first_b
                .cmp(&first_a)
                .then_with(|| a.spending_order().cmp(&b.spending_order()))
        });
        let (mut moves, mut taken) = (Vec::new(), 0);
        for lot in order {
            if taken == points {
                break;
            }
            let n = lot.remaining.min(points - taken);
            moves.push(LotMove {
                lot: lot.id.clone(),
                points: -n,
            });
            taken += n;
        }
        (moves, taken)
    }

    /// Points earned on a payment: a new lot, valid through `expires_on`.
    pub fn earn(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        expires_on: NaiveDate,
    ) -> Result<Applied, LedgerError> {
        self.open(key, at, points, expires_on, PostingKind::Earn, None, None)
    }

    /// The same, with how the points were worked out (kept as the posting's reason).
    pub fn earn_because(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        expires_on: NaiveDate,
        why: String,
    ) -> Result<Applied, LedgerError> {
        self.open(
            key,
            at,
            points,
            expires_on,
            PostingKind::Earn,
            Some(why),
            None,
        )
    }

    /// Points a campaign awards: a new lot, valid through `expires_on`, `why` kept.
    pub fn bonus(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        expires_on: NaiveDate,
        why: String,
    ) -> Result<Applied, LedgerError> {
        self.open(
            key,
            at,
            points,
            expires_on,
            PostingKind::Bonus,
            Some(why),
            None,
        )
    }

    /// Points of earning `earning` not yet taken back by a reversal.
    pub fn reversible(&self, earning: &str) -> i64 {
        self.earned(earning).map_or(0, |points| {
            points - self.earn_reversed.get(earning).copied().unwrap_or(0)
        })
    }

    /// Points earned on payments: one posting for `items` (new keys, each above zero),
    /// opening one lot valid through `expires_on`. Its time is the newest item's, its lot's
    /// first day the oldest item's; `reason` is kept with it (the rules' version). Refused
    /// whole when a key is taken. Gives the posting back as the journal holds it.
    pub fn accrue(
        &mut self,
        expires_on: NaiveDate,
        items: Vec<Item>,
        reason: Option<String>,
    ) -> Result<&Posting, LedgerError> {
        let (Some(first), Some(at)) = (
            items.iter().map(|i| i.at).min(),
            items.iter().map(|i| i.at).max(),
        ) else {
            return Err(LedgerError::NotPositive);
        };
        // Each key is checked once, by `append`.
        let mut points = 0i64;
        for item in &items {
            check_points(item.points)?;
            points = points.saturating_add(item.points);
        }
        check_points(points)?;
        if expires_on < first.date_naive() {
            return Err(LedgerError::ExpiresBeforeEarned);
        }
        let key = accrual_key(&items[0].key);
        if self.is_posted(&key) {
            return Err(LedgerError::KeyReused(key));
        }
        self.append(Posting {
            key: key.clone(),
            kind: PostingKind::Earn,
            at,
            requested: points,
            lines: vec![
                Line {
                    account: Account::Customer,
                    points,
                },
                Line {
                    account: Account::Issued,
                    points: -points,
                },
            ],
            moves: vec![LotMove { lot: key, points }],
            opens: Some(Opens {
                earned_on: first.date_naive(),
                expires_on,
            }),
            shortfall: 0,
            reverses: None,
            reason,
            actor: None,
            items,
        })?;
        Ok(self.journal.last().expect("just appended"))
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        expires_on: NaiveDate,
        kind: PostingKind,
        reason: Option<String>,
        actor: Option<String>,
    ) -> Result<Applied, LedgerError> {
        let request = Request {
            kind,
            requested: points,
            reverses: None,
            reason: reason.clone(),
            expires_on: Some(expires_on),
        };
        if let Some(earlier) = self.repeat(key, &request)? {
            return Ok(earlier);
        }
        check_points(points)?;
        let source = match kind {
            PostingKind::Earn | PostingKind::Bonus => Account::Issued,
            _ => Account::Adjusted,
        };
        self.commit(Posting {
            key: key.to_owned(),
            kind,
            at,
            requested: points,
            lines: vec![
                Line {
                    account: Account::Customer,
                    points,
                },
                Line {
                    account: source,
                    points: -points,
                },
            ],
            moves: vec![LotMove {
                lot: key.to_owned(),
                points,
            }],
            opens: Some(Opens {
                earned_on: at.date_naive(),
                expires_on,
            }),
            shortfall: 0,
            reverses: None,
            reason,
            actor,
            items: Vec::new(),
        })
    }

    /// Takes back the points of earning `earning` (its payment was refunded or charged
    /// back): from its own lot first, then from the others; what was already spent is the
    /// shortfall.
    pub fn reverse_earning(
        &mut self,
        key: &str,
        earning: &str,
        at: DateTime<Utc>,
    ) -> Result<Applied, LedgerError> {
        self.reverse_earning_part(key, earning, at, MAX_POINTS)
    }

    /// Takes back up to `points` of earning `earning` (a partial refund), never more than
    /// the earning's points less what earlier reversals took: refused once nothing is left.
    pub fn reverse_earning_part(
        &mut self,
        key: &str,
        earning: &str,
        at: DateTime<Utc>,
        points: i64,
    ) -> Result<Applied, LedgerError> {
        let Some((_, lot)) = self.earning(earning) else {
            return Err(LedgerError::Unknown {
                kind: "earn",
                key: earning.to_owned(),
            });
        };
        let lot = lot.to_owned();
        if let Some((seq, p)) = self.by_key.get(key).map(|&seq| (seq, &self.journal[seq])) {
            // A repeat names the same earning; its points were settled the first time.
            if p.kind == PostingKind::ReverseEarn && p.reverses.as_deref() == Some(earning) {
                return Ok(Applied {
                    posting: p.clone(),
                    repeated: true,
                    seq,
                });
            }
            return Err(LedgerError::KeyReused(key.to_owned()));
        }
        if self.item_at.contains_key(key) {
            return Err(LedgerError::KeyReused(key.to_owned()));
        }
        check_points(points)?;
        let left = self.reversible(earning);
        if left <= 0 {
            return Err(LedgerError::AlreadyReversed {
                key: earning.to_owned(),
                by: self.reversal_of(earning).unwrap_or_default().to_owned(),
            });
        }
        let points = points.min(left);
        let (moves, taken) = self.take(points, Some(&lot), |_| true);
        self.commit(Posting {
            key: key.to_owned(),
            kind: PostingKind::ReverseEarn,
            at,
            requested: points,
            lines: pair(Account::Issued, taken),
            moves,
            opens: None,
            shortfall: points - taken,
            reverses: Some(earning.to_owned()),
            reason: None,
            actor: None,
            items: Vec::new(),
        })
    }

    fn not_reversed(&self, key: &str) -> Result<(), LedgerError> {
        match self.reversal_of(key) {
            Some(by) => Err(LedgerError::AlreadyReversed {
                key: key.to_owned(),
                by: by.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Spends `points`, soonest-expiring first; refused whole when fewer can be spent today.
    /// `memo` says what they paid for (kept as the posting's reason).
    pub fn redeem(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        actor: Option<String>,
        memo: Option<String>,
    ) -> Result<Applied, LedgerError> {
        let request = Request {
            kind: PostingKind::Redeem,
            requested: points,
            reverses: None,
            reason: memo.clone(),
            expires_on: None,
        };
        if let Some(earlier) = self.repeat(key, &request)? {
            return Ok(earlier);
        }
        check_points(points)?;
        let day = at.date_naive();
        let available = self.snapshot(day).spendable;
        if points > available {
            return Err(LedgerError::Insufficient {
                available,
                requested: points,
            });
        }
        let (moves, taken) = self.take(points, None, |l| l.spendable_on(day));
        debug_assert_eq!(taken, points);
        self.commit(Posting {
            key: key.to_owned(),
            kind: PostingKind::Redeem,
            at,
            requested: points,
            lines: pair(Account::Redeemed, taken),
            moves,
            opens: None,
            shortfall: 0,
            reverses: None,
            reason: memo,
            actor,
            items: Vec::new(),
        })
    }

    /// Gives a redemption's points back, up to `window_days` after it: to the lots they
    /// came from, or to `expired` for a lot past its last day.
    pub fn reverse_redemption(
        &mut self,
        key: &str,
        redemption: &str,
        at: DateTime<Utc>,
        window_days: i64,
    ) -> Result<Applied, LedgerError> {
        let original = self
            .posting(redemption)
            .filter(|p| p.kind == PostingKind::Redeem)
            .ok_or_else(|| LedgerError::Unknown {
                kind: "redeem",
                key: redemption.to_owned(),
            })?
            .clone();
        let request = Request {
            kind: PostingKind::ReverseRedeem,
            requested: original.requested,
            reverses: Some(redemption.to_owned()),
            reason: None,
            expires_on: None,
        };
        if let Some(earlier) = self.repeat(key, &request)? {
            return Ok(earlier);
        }
        self.not_reversed(redemption)?;
        let last_day = original.at.date_naive() + Duration::days(window_days);
        let day = at.date_naive();
        if day > last_day {
            return Err(LedgerError::WindowClosed(last_day));
        }
        let (mut moves, mut back, mut lapsed) = (Vec::new(), 0, 0);
        for m in &original.moves {
            let lot = &self.lots[self.lot_at[&m.lot]];
            if lot.expires_on >= day {
                moves.push(LotMove {
                    lot: m.lot.clone(),
                    points: -m.points,
                });
                back -= m.points;
            } else {
                lapsed -= m.points;
            }
        }
        let mut lines = vec![Line {
            account: Account::Redeemed,
            points: -(back + lapsed),
        }];
        if back > 0 {
            lines.push(Line {
                account: Account::Customer,
                points: back,
            });
        }
        if lapsed > 0 {
            lines.push(Line {
                account: Account::Expired,
                points: lapsed,
            });
        }
        self.commit(Posting {
            key: key.to_owned(),
            kind: PostingKind::ReverseRedeem,
            at,
            requested: original.requested,
            lines,
            moves,
            opens: None,
            shortfall: 0,
            reverses: Some(redemption.to_owned()),
            reason: None,
            actor: None,
            items: Vec::new(),
        })
    }

    /// Expires every lot whose last day is before `at`'s day: one posting per lot, keyed by
    /// the lot, so running it twice (or on two servers) expires each lot once.
    pub fn expire(&mut self, at: DateTime<Utc>) -> Vec<Applied> {
        let day = at.date_naive();
        let due: Vec<(String, i64)> = self
            .lots
            .iter()
            .filter(|l| l.remaining > 0 && l.expires_on < day)
            .map(|l| (l.id.clone(), l.remaining))
            .collect();
        let mut out = Vec::new();
        for (lot, points) in due {
            let key = expiry_key(&lot);
            if self.by_key.contains_key(&key) {
                continue;
            }
            let posting = Posting {
                key,
                kind: PostingKind::Expire,
                at,
                requested: points,
                lines: pair(Account::Expired, points),
                moves: vec![LotMove {
                    lot,
                    points: -points,
                }],
                opens: None,
                shortfall: 0,
                reverses: None,
                reason: None,
                actor: None,
                items: Vec::new(),
            };
            out.push(
                self.commit(posting)
                    .expect("an expiry of a lot's remaining points balances"),
            );
        }
        out
    }

    /// A staff adjustment: positive opens a lot valid through `expires_on`; negative takes
    /// points soonest-expiring first and is refused beyond what can be spent. The reason and
    /// the actor are kept with it.
    pub fn adjust(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        points: i64,
        reason: &str,
        actor: &str,
        expires_on: NaiveDate,
    ) -> Result<Applied, LedgerError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(LedgerError::ReasonRequired);
        }
        if points > 0 {
            return self.open(
                key,
                at,
                points,
                expires_on,
                PostingKind::Adjust,
                Some(reason.to_owned()),
                Some(actor.to_owned()),
            );
        }
        let request = Request {
            kind: PostingKind::Adjust,
            requested: points,
            reverses: None,
            reason: Some(reason.to_owned()),
            expires_on: None,
        };
        if let Some(earlier) = self.repeat(key, &request)? {
            return Ok(earlier);
        }
        let wanted = points.checked_neg().ok_or(LedgerError::TooLarge)?;
        check_points(wanted)?;
        let day = at.date_naive();
        let available = self.snapshot(day).spendable;
        if wanted > available {
            return Err(LedgerError::Insufficient {
                available,
                requested: wanted,
            });
        }
        let (moves, taken) = self.take(wanted, None, |l| l.spendable_on(day));
        self.commit(Posting {
            key: key.to_owned(),
            kind: PostingKind::Adjust,
            at,
            requested: points,
            lines: pair(Account::Adjusted, taken),
            moves,
            opens: None,
            shortfall: 0,
            reverses: None,
            reason: Some(reason.to_owned()),
            actor: Some(actor.to_owned()),
            items: Vec::new(),
        })
    }
}

/// The key of the accrual whose first (oldest) item is `first_item`.
pub fn accrual_key(first_item: &str) -> String {
    format!("accrual:{first_item}")
}

/// The key of a lot's expiry posting.
pub fn expiry_key(lot: &str) -> String {
    format!("expire:{lot}")
}

/// `points` out of the customer's account into `to` (no lines for zero).
fn pair(to: Account, points: i64) -> Vec<Line> {
    if points == 0 {
        return Vec::new();
    }
    vec![
        Line {
            account: Account::Customer,
            points: -points,
        },
        Line {
            account: to,
            points,
        },
    ]
}

#[cfg(test)]
mod tests;
