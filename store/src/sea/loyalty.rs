//! Loyalty points on sea-orm: one row per posting (its lines and lot moves as JSON), the lots
//! beside them, written in the same transaction. A write replays the customer's journal
//! under a lock (the process's write lock on SQLite, a transaction-scoped advisory lock on
//! PostgreSQL), so two writes of one customer's points never interleave, on any number of
//! servers: two redemptions cannot both spend the same points.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use sextant_domain::CustomerId;
use sextant_loyalty::{
    Account, Applied, CustomerLedger, LedgerError, Line, LotMove, Opens, Posting, PostingKind,
};

use super::rows::ms_to_time;
use super::SeaStore;
use crate::loyalty::{LedgerStep, LiabilityMonth, LoyaltyStore};
use crate::{Actor, StoreError};

const POSTINGS: &str = "loyalty_postings";
const LOTS: &str = "loyalty_lots";

#[derive(Serialize, Deserialize)]
struct LineRow {
    account: String,
    points: i64,
}

#[derive(Serialize, Deserialize)]
struct MoveRow {
    lot: String,
    points: i64,
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{POSTINGS}: {what}"))
}

fn parse_day(text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| corrupt("a day")))
        .transpose()
}

const COLUMNS: [&str; 15] = [
    "customer_id",
    "posting_key",
    "seq",
    "kind",
    "at_ms",
    "requested",
    "customer_change",
    "shortfall",
    "reverses",
    "reason",
    "actor",
    "opens_earned_on",
    "opens_expires_on",
    "lines",
    "moves",
];

fn posting_from(row: &QueryResult) -> Result<Posting, StoreError> {
    let kind: String = row.try_get("", "kind")?;
    let lines: String = row.try_get("", "lines")?;
    let moves: String = row.try_get("", "moves")?;
    let lines: Vec<LineRow> = serde_json::from_str(&lines).map_err(corrupt)?;
    let moves: Vec<MoveRow> = serde_json::from_str(&moves).map_err(corrupt)?;
    let earned_on = parse_day(row.try_get("", "opens_earned_on")?)?;
    let expires_on = parse_day(row.try_get("", "opens_expires_on")?)?;
    Ok(Posting {
        key: row.try_get("", "posting_key")?,
        kind: PostingKind::parse(&kind).ok_or_else(|| corrupt(format!("kind `{kind}`")))?,
        at: ms_to_time(row.try_get("", "at_ms")?)?,
        requested: row.try_get("", "requested")?,
        lines: lines
            .into_iter()
            .map(|l| {
                Ok(Line {
                    account: Account::parse(&l.account)
                        .ok_or_else(|| corrupt(format!("account `{}`", l.account)))?,
                    points: l.points,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        moves: moves
            .into_iter()
            .map(|m| LotMove {
                lot: m.lot,
                points: m.points,
            })
            .collect(),
        opens: match (earned_on, expires_on) {
            (Some(earned_on), Some(expires_on)) => Some(Opens {
                earned_on,
                expires_on,
            }),
            (None, None) => None,
            _ => return Err(corrupt("a lot with one of its two days")),
        },
        shortfall: row.try_get("", "shortfall")?,
        reverses: row.try_get("", "reverses")?,
        reason: row.try_get("", "reason")?,
        actor: row.try_get("", "actor")?,
    })
}

/// The customer's journal, in order.
async fn journal(db: &impl ConnectionTrait, customer: &str) -> Result<Vec<Posting>, StoreError> {
    let query = Query::select()
        .columns(COLUMNS.map(Alias::new))
        .from(Alias::new(POSTINGS))
        .and_where(Expr::col(Alias::new("customer_id")).eq(customer))
        .order_by(Alias::new("seq"), Order::Asc)
        .to_owned();
    db.query_all(db.get_database_backend().build(&query))
        .await?
        .iter()
        .map(posting_from)
        .collect()
}

fn replay(customer: &str, postings: Vec<Posting>) -> Result<CustomerLedger, StoreError> {
    CustomerLedger::replay(postings)
        .map_err(|e| StoreError::Corrupt(format!("the loyalty journal of {customer}: {e}")))
}

/// On PostgreSQL, holds the customer's loyalty lock to the end of the transaction.
async fn lock_customer(db: &impl ConnectionTrait, customer: &str) -> Result<(), StoreError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let key = sextant_hash::fnv1a64(format!("loyalty:{customer}").as_bytes()) as i64;
    db.execute(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_xact_lock({key})"),
    ))
    .await?;
    Ok(())
}

async fn insert_postings(
    db: &impl ConnectionTrait,
    customer: &str,
    first_seq: usize,
    postings: &[Posting],
) -> Result<(), StoreError> {
    let mut insert = Query::insert()
        .into_table(Alias::new(POSTINGS))
        .columns(COLUMNS.map(Alias::new))
        .to_owned();
    for (i, p) in postings.iter().enumerate() {
        let lines: Vec<LineRow> = p
            .lines
            .iter()
            .map(|l| LineRow {
                account: l.account.as_str().to_owned(),
                points: l.points,
            })
            .collect();
        let moves: Vec<MoveRow> = p
            .moves
            .iter()
            .map(|m| MoveRow {
                lot: m.lot.clone(),
                points: m.points,
            })
            .collect();
        insert.values_panic([
            customer.into(),
            p.key.as_str().into(),
            ((first_seq + i) as i64).into(),
            p.kind.as_str().into(),
            p.at.timestamp_millis().into(),
            p.requested.into(),
            p.customer_change().into(),
            p.shortfall.into(),
            p.reverses.clone().into(),
            p.reason.clone().into(),
            p.actor.clone().into(),
            p.opens.map(|o| day_text(o.earned_on)).into(),
            p.opens.map(|o| day_text(o.expires_on)).into(),
            serde_json::to_string(&lines).expect("plain rows").into(),
            serde_json::to_string(&moves).expect("plain rows").into(),
        ]);
    }
    db.execute(db.get_database_backend().build(&insert)).await?;
    Ok(())
}

/// Writes the lots `touched` as the ledger now holds them.
async fn upsert_lots(
    db: &impl ConnectionTrait,
    customer: &str,
    ledger: &CustomerLedger,
    touched: &BTreeSet<&str>,
) -> Result<(), StoreError> {
    let mut insert = Query::insert()
        .into_table(Alias::new(LOTS))
        .columns(
            [
                "customer_id",
                "lot_id",
                "earned_on",
                "expires_on",
                "points",
                "remaining",
            ]
            .map(Alias::new),
        )
        .on_conflict(
            OnConflict::columns([Alias::new("customer_id"), Alias::new("lot_id")])
                .update_column(Alias::new("remaining"))
                .to_owned(),
        )
        .to_owned();
    let mut rows = 0;
    for lot in ledger
        .lots()
        .iter()
        .filter(|l| touched.contains(l.id.as_str()))
    {
        insert.values_panic([
            customer.into(),
            lot.id.as_str().into(),
            day_text(lot.earned_on).into(),
            day_text(lot.expires_on).into(),
            lot.points.into(),
            lot.remaining.into(),
        ]);
        rows += 1;
    }
    if rows > 0 {
        db.execute(db.get_database_backend().build(&insert)).await?;
    }
    Ok(())
}

#[async_trait]
impl LoyaltyStore for SeaStore {
    async fn post_points(
        &self,
        customer: &CustomerId,
        step: LedgerStep,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Applied>, LedgerError>, StoreError> {
        let id = customer.as_str();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        lock_customer(&txn, id).await?;
        let mut ledger = replay(id, journal(&txn, id).await?)?;
        let before = ledger.journal().len();
        let applied = match step(&mut ledger) {
            Ok(applied) => applied,
            // Dropping the transaction rolls it back: nothing was written.
            Err(refused) => return Ok(Err(refused)),
        };
        let added = &ledger.journal()[before..];
        if added.is_empty() {
            return Ok(Ok(applied));
        }
        insert_postings(&txn, id, before, added).await?;
        let touched: BTreeSet<&str> = added
            .iter()
            .flat_map(|p| p.moves.iter().map(|m| m.lot.as_str()))
            .collect();
        upsert_lots(&txn, id, &ledger, &touched).await?;
        let detail = serde_json::json!({
            "postings": added
                .iter()
                .map(|p| serde_json::json!({
                    "key": p.key,
                    "kind": p.kind.as_str(),
                    "points": p.customer_change(),
                    "shortfall": p.shortfall,
                    "reverses": p.reverses,
                    "reason": p.reason,
                }))
                .collect::<Vec<_>>(),
            "balance": ledger.snapshot(now.date_naive()).balance,
        });
        self.recorder(by)
            .record(&txn, "loyalty.post", id, detail, now)
            .await?;
        txn.commit().await?;
        Ok(Ok(applied))
    }

    async fn loyalty_ledger(&self, customer: &CustomerId) -> Result<CustomerLedger, StoreError> {
        let id = customer.as_str();
        replay(id, journal(&self.db, id).await?)
    }

    async fn loyalty_liability(&self, as_of: NaiveDate) -> Result<Vec<LiabilityMonth>, StoreError> {
        let month = "substr(expires_on, 1, 7)";
        let query = Query::select()
            .expr_as(Expr::cust(month), Alias::new("month"))
            .expr_as(
                Expr::cust("CAST(SUM(remaining) AS BIGINT)"),
                Alias::new("points"),
            )
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("lots"))
            .expr_as(
                Expr::cust("COUNT(DISTINCT customer_id)"),
                Alias::new("customers"),
            )
            .from(Alias::new(LOTS))
            .and_where(Expr::col(Alias::new("remaining")).gt(0))
            .and_where(Expr::col(Alias::new("expires_on")).gte(day_text(as_of)))
            .add_group_by([Expr::cust(month)])
            .order_by_expr(Expr::cust(month), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.iter()
            .map(|row| {
                Ok(LiabilityMonth {
                    month: row.try_get("", "month")?,
                    points: row.try_get("", "points")?,
                    lots: row.try_get::<i64>("", "lots")? as u64,
                    customers: row.try_get::<i64>("", "customers")? as u64,
                })
            })
            .collect()
    }

    async fn loyalty_due_for_expiry(
        &self,
        day: NaiveDate,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut query = Query::select()
            .distinct()
            .column(Alias::new("customer_id"))
            .from(Alias::new(LOTS))
            .and_where(Expr::col(Alias::new("remaining")).gt(0))
            .and_where(Expr::col(Alias::new("expires_on")).lt(day_text(day)))
            .order_by(Alias::new("customer_id"), Order::Asc)
            .limit(limit)
            .to_owned();
        if let Some(after) = after {
            query.and_where(Expr::col(Alias::new("customer_id")).gt(after.as_str()));
        }
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("", "customer_id")?;
                CustomerId::parse(&id).map_err(|_| StoreError::Corrupt(format!("{LOTS}: id")))
            })
            .collect()
    }
}
